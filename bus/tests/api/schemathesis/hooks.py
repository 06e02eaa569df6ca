"""schemathesis hooks for bus/tests/api/schemathesis.rs (loaded through SCHEMATHESIS_HOOKS).

They touch only the requests schemathesis generates as valid ("positive"), and only in
two ways:

- Rules of the bus that JSON Schema cannot state, because they compare two values of one
  body: an array of events holds each `id` once (DESIGN: "one id twice in an array ->
  400"), and a subscription's `retry.max_ms` is at least its `retry.initial_ms` (100
  when left out). A generated body that breaks one is mended to keep it, so that the
  request is valid for the bus too and "valid data is accepted" still holds it to account.
- Where deliveries go: a subscription the run creates is delivered to in the background,
  and generated URLs name real hosts (`https://0.com`). Its host becomes 127.0.0.1:9 (the
  discard port, closed here: deliveries fail and retry), so the run sends nothing off
  this machine.

Requests generated to break the document ("negative") are sent as generated.
"""

from urllib.parse import urlsplit, urlunsplit

import schemathesis

# Where test subscriptions deliver: loopback, a port nothing listens on.
LOOPBACK = "127.0.0.1:9"
# The bus's limits (bus/src/daemon/subs/spec.rs, wire.rs defaults).
MAX_URL_BYTES = 2048
DEFAULT_INITIAL_MS = 100
DEFAULT_MAX_MS = 30000


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    path, method = case.operation.path, case.method.upper()
    if (method, path) == ("PUT", "/subscriptions/{name}") and isinstance(case.body, dict):
        deliver_to_loopback(case.body)
        order_backoff(case.body)
    elif (method, path) == ("POST", "/events") and isinstance(case.body, list):
        make_ids_unique(case.body)
    return case


def deliver_to_loopback(spec):
    url = spec.get("url")
    if not isinstance(url, str):
        return
    try:
        local = urlunsplit(urlsplit(url)._replace(netloc=LOOPBACK))
    except ValueError:
        local = ""
    if not local or len(local.encode()) > MAX_URL_BYTES:
        local = f"http://{LOOPBACK}/"
    spec["url"] = local


def order_backoff(spec):
    retry = spec.get("retry")
    if not isinstance(retry, dict):
        return
    initial = retry.get("initial_ms", DEFAULT_INITIAL_MS)
    longest = retry.get("max_ms", DEFAULT_MAX_MS)
    if is_number(initial) and is_number(longest) and longest < initial:
        retry["max_ms"] = initial


def make_ids_unique(events):
    taken = {e.get("id") for e in events if isinstance(e, dict)}
    seen = set()
    for index, event in enumerate(events):
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            continue
        if event["id"] in seen:
            fresh = f"copy-{index}"
            while fresh in taken:
                fresh += "x"
            taken.add(fresh)
            event["id"] = fresh
        seen.add(event["id"])


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
