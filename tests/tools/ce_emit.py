"""Publishes CloudEvents to a bus with the official PyPI `cloudevents` SDK (2.x core API).

stdin: {"url": "http://…/events", "mode": "binary" | "structured",
        "events": [{"id", "type", "source", "data"}, …]}
stdout: one JSON array, per event {"status", "answer", "sent"}: the HTTP status, the bus's
answer as text, and the request body the SDK built (to_binary / to_structured).
"""

import http.client
import json
import sys
import urllib.parse

from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent


def post(url, message):
    """POSTs an HTTPMessage with exactly its headers (urllib would add a form Content-Type
    where the SDK sets none); (status, answer text)."""
    target = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    connection.request("POST", target.path, body=message.body, headers=message.headers)
    response = connection.getresponse()
    return response.status, response.read().decode()


def main():
    job = json.load(sys.stdin)
    encode = to_binary if job["mode"] == "binary" else to_structured
    results = []
    for attributes in job["events"]:
        data = attributes.pop("data", None)
        message = encode(CloudEvent(attributes, data), JSONFormat())
        status, answer = post(job["url"], message)
        results.append({"status": status, "answer": answer, "sent": message.body.decode()})
    print(json.dumps(results))


main()
