// Following the read side: query's `GET /posts`, read with `min_seq` so that the list holds
// at least everything up to the newest seq the page knows of (a write's `Minibus-Seq`, or an
// event seen on the bus's stream). When query lags (paused, or busy) the read comes back
// after `wait_ms` with what query has; the page keeps asking, so the missing posts arrive as
// soon as query catches up.

import { call, seqHeader } from "./api.js";

/** How long query may hold a read while it catches up (it answers at once when it has). */
const WAIT_MS = 2000;
/** Pause before asking again after query could not be reached. */
const RETRY_MS = 1000;
/**
 * Least time between two reads in a row: under a stream of events each read would
 * otherwise fetch the whole list again at once, keeping the page busy parsing it.
 */
const SPACING_MS = 250;

export class ReadSide {
  /** `onPosts(posts, applied)` gets each answer; `onTrouble(failure|null)` its errors. */
  constructor({ onPosts, onTrouble }) {
    this.onPosts = onPosts;
    this.onTrouble = onTrouble;
    this.wanted = 0;
    this.applied = -1;
    this.running = false;
    this.stale = false;
    this.waiters = [];
    this.reachers = [];
  }

  /** Reads once now (at start). */
  start() {
    this.#run();
  }

  /**
   * Asks for a list holding `seq`; resolves with query's applied seq once it holds it, or
   * once the first read waiting for it has come back without it.
   */
  want(seq) {
    this.wanted = Math.max(this.wanted, seq);
    const answered = new Promise((resolve) => this.waiters.push({ seq, resolve }));
    this.#run();
    return answered;
  }

  /** Resolves once query has applied `seq`, however long that takes (query paused…). */
  reached(seq) {
    if (this.applied >= seq) return Promise.resolve(this.applied);
    const reached = new Promise((resolve) => this.reachers.push({ seq, resolve }));
    this.follow(seq);
    return reached;
  }

  /** Reads until the list holds `seq` (an event seen on the bus), with no one waiting. */
  follow(seq) {
    if (seq <= this.wanted) return;
    this.wanted = seq;
    this.#run();
  }

  /** Reads again now, whatever the list holds (query was rewound or resumed). */
  refresh() {
    this.stale = true;
    this.#run();
  }

  /** Whether query has applied the event at `seq`. */
  holds(seq) {
    return this.applied >= seq;
  }

  async #run() {
    if (this.running) return;
    this.running = true;
    try {
      await this.#readOnce();
      while (this.applied < this.wanted || this.stale) {
        await sleep(SPACING_MS);
        await this.#readOnce();
      }
    } finally {
      this.running = false;
    }
  }

  async #readOnce() {
    const target = this.wanted;
    this.stale = false;
    const query = target > 0 ? `?min_seq=${target}&wait_ms=${WAIT_MS}` : "";
    try {
      const { json, headers } = await call("GET", `/posts${query}`);
      this.applied = seqHeader(headers, "minibus-applied-seq") ?? target;
      this.onTrouble(null);
      this.onPosts(json ?? {}, this.applied);
    } catch (failure) {
      this.onTrouble(failure);
      await sleep(RETRY_MS);
    }
    this.#settle(target);
  }

  /** Answers every waiter whose seq is applied, or that a read which waited for it missed. */
  #settle(target) {
    this.reachers = this.reachers.filter((reacher) => {
      if (this.applied < reacher.seq) return true;
      reacher.resolve(this.applied);
      return false;
    });
    this.waiters = this.waiters.filter((waiter) => {
      if (this.applied >= waiter.seq || target >= waiter.seq) {
        waiter.resolve(this.applied);
        return false;
      }
      return true;
    });
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
