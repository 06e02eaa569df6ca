// The page's entry point: wires the blog (write side, read side) and the bus's panels.
// Every call goes to this page's own origin; nothing is fetched from anywhere else.

import { call } from "./api.js";
import { Blog } from "./posts.js";
import { EventLog } from "./eventlog.js";
import { ReadSide } from "./readside.js";
import { Subscribers } from "./subscribers.js";

/** The events query projects: waiting for any other seq would wait for nothing. */
const PROJECTED = new Set(["PostCreated", "CommentCreated", "CommentUpdated"]);

const appliedLine = document.getElementById("applied");
const connection = document.getElementById("connection");

const readSide = new ReadSide({
  onPosts: (posts, applied) => {
    blog.show(posts);
    appliedLine.className = "applied";
    appliedLine.textContent = `query has applied the bus's events up to seq ${applied}.`;
  },
  onTrouble: (failure) => {
    if (!failure) return;
    appliedLine.className = "applied error";
    appliedLine.textContent = `${capital(failure.message)}: this list may be out of date.`;
  },
});
const blog = new Blog(readSide);
// A rewind or resume of query publishes no event: the list is read again while it catches up.
const subscribers = new Subscribers({ onReadSideMoved: () => readSide.refresh() });
const log = new EventLog({
  onEvent: (event) => {
    subscribers.soon();
    if (PROJECTED.has(event.type) && !readSide.holds(event.seq)) readSide.follow(event.seq);
  },
  onConnection: showConnection,
});

/** How long to wait before asking for the bus's head again, at first and at most. */
const INFO_RETRY_MS = 1000;
const INFO_RETRY_MAX_MS = 4000;

readSide.start();
subscribers.start();
startLog();

/** Follows the log from near the bus's head, asking for the head until the bus answers. */
async function startLog() {
  for (let wait = INFO_RETRY_MS; ; wait = Math.min(2 * wait, INFO_RETRY_MAX_MS)) {
    try {
      const head = (await call("GET", "/bus/info")).json?.head_seq ?? 0;
      return log.follow(head);
    } catch {
      showConnection(false);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

function showConnection(open) {
  connection.className = open ? "connection live" : "connection down";
  connection.textContent = open
    ? "Live: following the bus's event stream."
    : "The bus's event stream is interrupted; reconnecting…";
}

function capital(sentence) {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}
