"""Reads deliveries of the bus with the official PyPI `cloudevents` SDK's receiver.

stdin: {"api": "core" | "v1", "deliveries": [{"headers": {name: value}, "body": "…"}, …]},
as the subscriber got them.
stdout: one JSON array, per delivery a one-item array with the CloudEvent that from_http
gives back (the 2.x API, cloudevents.core, or the 1.x one, cloudevents.v1.http), as
{"id", "type", "source", "specversion", "subject", "data", "sequence"}. (The Python SDK
reads no batches.)
"""

import json
import sys

from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.v1.http import from_http as v1_from_http


def read_core(delivery):
    message = HTTPMessage(delivery["headers"], delivery["body"].encode())
    event = from_http(message, JSONFormat())
    return {
        "id": event.get_id(),
        "type": event.get_type(),
        "source": event.get_source(),
        "specversion": event.get_specversion(),
        "subject": event.get_subject(),
        "data": event.get_data(),
        "sequence": event.get_extension("sequence"),
    }


def read_v1(delivery):
    event = v1_from_http(delivery["headers"], delivery["body"].encode())
    attributes = event.get_attributes()
    names = ["id", "type", "source", "specversion", "subject", "sequence"]
    return {**{name: attributes.get(name) for name in names}, "data": event.data}


def main():
    job = json.load(sys.stdin)
    read = read_v1 if job["api"] == "v1" else read_core
    print(json.dumps([[read(delivery)] for delivery in job["deliveries"]]))


main()
