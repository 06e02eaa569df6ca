// A query service in the style of the course's (written for this test; no course code):
// it listens, then rebuilds its state from one `GET /events` of the bus, and applies every
// event the bus pushes to `POST /events` — with no deduplication, as the course's does.
// `GET /applied` shows what it applied, in order, so the test can look for repeats.
//
// usage: node replaying_query.mjs PORT BUS_URL   (PORT 0: any free port)
// prints "listening PORT" once bound, then "replayed N" once its replay is applied.
import http from "node:http";

const [port, busUrl] = process.argv.slice(2);
const applied = [];

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function answer(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  if (req.method === "POST" && req.url === "/events") {
    const event = JSON.parse(await readBody(req));
    // An event this service fails on when it is pushed (a bug of its own, say).
    if (event.data && event.data.poison) return answer(res, 500, { error: "cannot apply" });
    applied.push(event.seq);
    return answer(res, 200, {});
  }
  if (req.method === "GET" && req.url === "/applied") return answer(res, 200, applied);
  answer(res, 404, {});
});

server.listen(Number(port), "127.0.0.1", async () => {
  console.log(`listening ${server.address().port}`);
  const reply = await fetch(`${busUrl}/events`);
  const history = await reply.json();
  for (const event of history) applied.push(event.seq);
  console.log(`replayed ${history.length}`);
});
