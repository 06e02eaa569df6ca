"""Publishes CloudEvents to a bus with the official PyPI `cloudevents` SDK.

stdin: {"url": "http://…/events", "mode": "binary" | "structured" | "v1-binary" | "v1-structured",
        "events": [{"id", "type", "source", "data", "datacontenttype"?}, …]}
stdout: one JSON array, per event {"status", "answer", "sent"}: the HTTP status, the bus's
answer as text, and the request body the SDK built.

"binary" and "structured" use the 2.x API (cloudevents.core: to_binary / to_structured,
which percent-encode header values); "v1-…" the 1.x API the package still ships
(cloudevents.v1.conversion), which much code in use is written against.
"""

import http.client
import json
import sys
import urllib.parse

from cloudevents.core.bindings import http as core_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from cloudevents.v1 import conversion as v1_conversion
from cloudevents.v1.http import CloudEvent as V1CloudEvent


def encode(mode, attributes):
    """(headers, body) of one event, as the SDK builds them in `mode`."""
    data = attributes.pop("data", None)
    if mode.startswith("v1-"):
        convert = v1_conversion.to_binary if mode == "v1-binary" else v1_conversion.to_structured
        return convert(V1CloudEvent(attributes, data))
    convert = core_http.to_binary if mode == "binary" else core_http.to_structured
    message = convert(CloudEvent(attributes, data), JSONFormat())
    return message.headers, message.body


def post(url, headers, body):
    """POSTs with exactly these headers (urllib would add a form Content-Type where the SDK
    sets none); (status, answer text)."""
    target = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    connection.request("POST", target.path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read().decode()


def main():
    job = json.load(sys.stdin)
    results = []
    for attributes in job["events"]:
        headers, body = encode(job["mode"], attributes)
        status, answer = post(job["url"], headers, body)
        results.append({"status": status, "answer": answer, "sent": body.decode()})
    print(json.dumps(results))


main()
