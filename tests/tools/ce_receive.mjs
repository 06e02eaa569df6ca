// Reads deliveries of the bus with the official npm `cloudevents` SDK's receiver.
//
// stdin: {"deliveries": [{"headers": {name: value}, "body": "…"}, …]}, as the subscriber
// got them.
// stdout: one JSON array, per delivery the array of CloudEvents HTTP.toEvent gives back
// (one, or several for a batch), each validated against the spec and given as
// {"id", "type", "source", "specversion", "subject", "data", "sequence"}.
import { HTTP } from "cloudevents";
import { readFileSync } from "node:fs";

const { deliveries } = JSON.parse(readFileSync(0, "utf8"));
const attributes = (ce) => {
  ce.validate(); // throws on anything the spec forbids
  const { id, type, source, specversion, subject, data, sequence } = ce;
  return { id, type, source, specversion, subject, data, sequence };
};
const received = deliveries.map(({ headers, body }) => {
  const events = HTTP.toEvent({ headers, body });
  return (Array.isArray(events) ? events : [events]).map(attributes);
});
console.log(JSON.stringify(received));
