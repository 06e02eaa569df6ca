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
const subscribers = new Subscribers();
const log = new EventLog({
  onEvent: (event) => {
    subscribers.soon();
    if (PROJECTED.has(event.type) && !readSide.holds(event.seq)) readSide.follow(event.seq);
  },
  onConnection: (open) => {
    connection.className = open ? "connection live" : "connection down";
    connection.textContent = open
      ? "Live: following the bus's event stream."
      : "The bus's event stream is interrupted; reconnecting…";
  },
});

readSide.start();
subscribers.start();
startLog();

async function startLog() {
  let head = 0;
  try {
    head = (await call("GET", "/bus/info")).json?.head_seq ?? 0;
  } catch {
    // The stream itself retries; without the head it starts from the beginning.
  }
  log.follow(head);
}

function capital(sentence) {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}
