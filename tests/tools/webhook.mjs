// Standard Webhooks with the official npm `standardwebhooks` package, both ways.
//
// stdin: {"secret": "whsec_…",
//         "verify": [{"headers": {name: value}, "body": "…"}, …],
//         "sign": [{"id", "timestamp" (seconds), "body"}, …]}
// stdout: {"verified": [{"ok": true, "payload"} | {"ok": false, "error"}, …],
//          "signatures": ["v1,…", …]}: what Webhook(secret).verify(body, headers) said of
// each delivery, and Webhook(secret).sign(id, date, body) of each message.
import { Webhook } from "standardwebhooks";
import { readFileSync } from "node:fs";

const job = JSON.parse(readFileSync(0, "utf8"));
const webhook = new Webhook(job.secret);
const verified = (job.verify ?? []).map(({ headers, body }) => {
  try {
    return { ok: true, payload: webhook.verify(body, headers) };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
});
const signatures = (job.sign ?? []).map(({ id, timestamp, body }) =>
  webhook.sign(id, new Date(timestamp * 1000), body));
console.log(JSON.stringify({ verified, signatures }));
