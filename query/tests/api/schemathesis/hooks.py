"""schemathesis hooks for query/tests/api/schemathesis.rs (loaded through SCHEMATHESIS_HOOKS).

A request with `min_seq` beyond what query has applied waits `wait_ms` (2 s when absent,
up to 10 s) before answering: correct, but a few hundred such requests would make the run
last minutes, and one of 10 s meets the run's request timeout. So wherever `wait_ms` is a
valid number (or absent) beside a `min_seq` that is one, it becomes 20 ms: the request
stays valid, or stays invalid for the same reason it was generated for (another
parameter), and still waits.
"""

import schemathesis

# The longest wait a generated valid request asks for.
WAIT_MS = 20
# The longest wait_ms query takes (query/src/routes.rs MAX_WAIT_MS).
MAX_WAIT_MS = 10000


@schemathesis.hook
def map_case(context, case):
    query = case.query
    if not isinstance(query, dict) or not is_whole(query.get("min_seq")):
        return case
    wait = query.get("wait_ms", WAIT_MS)
    if is_whole(wait) and 0 <= wait <= MAX_WAIT_MS:
        query["wait_ms"] = min(wait, WAIT_MS)
    return case


def is_whole(value):
    return isinstance(value, int) and not isinstance(value, bool)
