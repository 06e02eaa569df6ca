"""Reads deliveries of the bus with the official PyPI `cloudevents` SDK's receiver.

stdin: [{"headers": {name: value}, "body": "…"}, …], as the subscriber got them.
stdout: one JSON array, per delivery a one-item array with the CloudEvent that from_http
gives back, as {"id", "type", "source", "specversion", "time", "subject", "data",
"sequence"}. (The Python SDK reads no batches.)
"""

import json
import sys

from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat


def attributes(event):
    """The attributes and data of an event, as JSON values."""
    return {
        "id": event.get_id(),
        "type": event.get_type(),
        "source": event.get_source(),
        "specversion": event.get_specversion(),
        "time": event.get_time().isoformat().replace("+00:00", "Z"),
        "subject": event.get_subject(),
        "data": event.get_data(),
        "sequence": event.get_extension("sequence"),
    }


def main():
    received = []
    for delivery in json.load(sys.stdin):
        message = HTTPMessage(delivery["headers"], delivery["body"].encode())
        received.append([attributes(from_http(message, JSONFormat()))])
    print(json.dumps(received))


main()
