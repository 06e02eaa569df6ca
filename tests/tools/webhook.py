"""Standard Webhooks with the official PyPI `standardwebhooks` package, both ways.

stdin: {"secret": "whsec_…",
        "verify": [{"headers": {name: value}, "body": "…"}, …],
        "sign": [{"id", "timestamp" (seconds), "body"}, …]}
stdout: {"verified": [{"ok": true, "payload"} | {"ok": false, "error"}, …],
         "signatures": ["v1,…", …]}: what Webhook(secret).verify(body, headers) said of each
delivery, and Webhook(secret).sign(id, datetime, body) of each message.
"""

import json
import sys
from datetime import datetime, timezone

from standardwebhooks import Webhook


def check(webhook, delivery):
    try:
        return {"ok": True, "payload": webhook.verify(delivery["body"], delivery["headers"])}
    except Exception as error:  # the package's WebhookVerificationError, or a bad header
        return {"ok": False, "error": repr(error)}


def main():
    job = json.load(sys.stdin)
    webhook = Webhook(job["secret"])
    verified = [check(webhook, delivery) for delivery in job.get("verify", [])]
    signatures = [
        webhook.sign(m["id"], datetime.fromtimestamp(m["timestamp"], tz=timezone.utc), m["body"])
        for m in job.get("sign", [])
    ]
    print(json.dumps({"verified": verified, "signatures": signatures}))


main()
