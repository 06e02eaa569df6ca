// Publishes CloudEvents to a bus with the official npm `cloudevents` SDK.
//
// stdin: {"url": "http://…/events", "mode": "binary" | "structured" | "emitter",
//         "events": [{"id", "type", "source", "data"}, …]}
// stdout: one JSON array, per event {"status", "answer", "sent"}: the HTTP status (null
// for the emitter, whose transport does not report it), the bus's answer as text, and the
// request body the SDK built.
//
// "binary" and "structured" POST what HTTP.binary(ce) / HTTP.structured(ce) build;
// "emitter" sends with emitterFor(httpTransport(url)), the SDK's own sender (binary mode,
// its default).
import { CloudEvent, HTTP, emitterFor, httpTransport } from "cloudevents";
import { readFileSync } from "node:fs";

const { url, mode, events } = JSON.parse(readFileSync(0, "utf8"));
const emit = emitterFor(httpTransport(url));
const results = [];
for (const attributes of events) {
  const ce = new CloudEvent(attributes);
  if (mode === "emitter") {
    const answer = await emit(ce);
    results.push({ status: null, answer: answer.body, sent: HTTP.binary(ce).body });
    continue;
  }
  const message = mode === "binary" ? HTTP.binary(ce) : HTTP.structured(ce);
  const response = await fetch(url, { method: "POST", headers: message.headers, body: message.body });
  results.push({ status: response.status, answer: await response.text(), sent: message.body });
}
console.log(JSON.stringify(results));
