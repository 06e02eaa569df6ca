// The event-log panel: the bus's events, live, from its SSE stream through the gateway.
// Memory and the page stay bounded whatever the log's size: the panel keeps the newest
// KEPT events and draws at most DRAWN rows, adding new rows at most every DRAW_EVERY_MS
// (drawing each event as it came kept the browser busy laying the list out).

/** Events kept in memory (for the filter and the causal chains). */
const KEPT = 10000;
/** Rows drawn in the panel. */
const DRAWN = 200;
/** How much history the stream starts with. */
const HISTORY = 200;
/** Least time between two draws: a burst of events is drawn in a few steps, not each. */
const DRAW_EVERY_MS = 200;
/**
 * First wait before opening a stream the browser gave up on (it does on an answer that is
 * not an event stream, such as the gateway's 502 while the bus is down), doubled after
 * each failure up to RECONNECT_MAX_MS.
 */
const RECONNECT_MS = 1000;
const RECONNECT_MAX_MS = 4000;

export class EventLog {
  /** `onEvent(envelope)` is called for every event as it arrives. */
  constructor({ onEvent, onConnection }) {
    this.onEvent = onEvent;
    this.onConnection = onConnection;
    this.events = [];
    /** Type → how many kept events have it. */
    this.types = new Map();
    this.list = document.getElementById("log");
    this.filter = document.getElementById("log-filter");
    this.count = document.getElementById("log-count");
    this.chain = document.getElementById("chain");
    this.chainKey = null;
    this.lastSeq = 0;
    this.reconnectMs = RECONNECT_MS;
    this.drawPending = false;
    this.drawnSeq = 0;
    this.filter.addEventListener("change", () => {
      this.#pruneTypes();
      this.#draw(true);
    });
    this.list.addEventListener("click", (event) => this.#select(event.target.closest("button")));
  }

  /** Follows the bus's stream from a little before its head (`head_seq`), for good. */
  follow(headSeq) {
    this.lastSeq = Math.max(0, headSeq - HISTORY);
    this.#open();
  }

  /**
   * Opens the stream after the last seq seen. While it is connecting again by itself the
   * browser resumes from the last event's id; once it has closed the stream for good, a
   * new one starts from the same place a little later: nothing lost, nothing twice.
   */
  #open() {
    const stream = new EventSource(`/bus/events/stream?after=${this.lastSeq}`);
    stream.onopen = () => {
      this.reconnectMs = RECONNECT_MS;
      this.onConnection(true);
    };
    stream.onerror = () => {
      this.onConnection(false);
      if (stream.readyState !== EventSource.CLOSED) return;
      setTimeout(() => this.#open(), this.reconnectMs);
      this.reconnectMs = Math.min(2 * this.reconnectMs, RECONNECT_MAX_MS);
    };
    stream.onmessage = (message) => this.#receive(JSON.parse(message.data));
  }

  #receive(envelope) {
    if (envelope.seq <= this.lastSeq) return;
    this.lastSeq = envelope.seq;
    this.events.push(envelope);
    this.#countType(envelope.type, 1);
    if (this.events.length > KEPT) {
      const dropped = this.events.splice(0, this.events.length - KEPT);
      for (const old of dropped) this.#countType(old.type, -1);
    }
    this.onEvent(envelope);
    if (!this.drawPending) {
      this.drawPending = true;
      setTimeout(() => requestAnimationFrame(() => this.#draw()), DRAW_EVERY_MS);
    }
  }

  /** Counts the kept events of `type`: the filter offers exactly the types kept. */
  #countType(type, change) {
    const count = (this.types.get(type) ?? 0) + change;
    if (count > 0) {
      if (!this.types.has(type)) this.#addType(type);
      this.types.set(type, count);
      return;
    }
    this.types.delete(type);
    this.#pruneTypes();
  }

  #addType(type) {
    const options = [...this.filter.options].slice(1);
    if (options.some((o) => o.value === type)) return;
    const before = options.find((o) => o.value > type);
    this.filter.add(new Option(type, type), before ?? null);
  }

  /** Removes the types no longer kept, but the one selected (until another is). */
  #pruneTypes() {
    for (const option of [...this.filter.options].slice(1)) {
      if (!this.types.has(option.value) && !option.selected) option.remove();
    }
  }

  /** Adds the rows of the events that arrived since the last draw, or redraws all. */
  #draw(everything = false) {
    this.drawPending = false;
    const type = this.filter.value;
    const fresh = [];
    for (let i = this.events.length - 1; i >= 0 && fresh.length < DRAWN; i--) {
      const event = this.events[i];
      if (!everything && event.seq <= this.drawnSeq) break;
      if (!type || event.type === type) fresh.push(eventRow(event, chainKey(event) === this.chainKey));
    }
    if (everything) this.list.replaceChildren(...fresh);
    else this.list.prepend(...fresh);
    while (this.list.childElementCount > DRAWN) this.list.lastElementChild.remove();
    const last = this.events.at(-1);
    this.drawnSeq = last?.seq ?? 0;
    this.count.textContent = last ? `${this.events.length} kept · head seq ${last.seq}` : "";
    if (this.chainKey) this.#drawChain();
  }

  #select(button) {
    if (!button) return;
    const event = this.events.find((e) => String(e.seq) === button.dataset.seq);
    if (!event) return;
    this.chainKey = chainKey(event);
    this.#draw(true);
    this.chain.focus();
  }

  /** Draws the selected chain, unless it is already drawn as it is. */
  #drawChain() {
    const links = this.events.filter((e) => chainKey(e) === this.chainKey);
    const drawn = `${this.chainKey} ${links.length}`;
    if (this.chain.dataset.drawn === drawn && !this.chain.hidden) return;
    this.chain.dataset.drawn = drawn;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.textContent = "Close";
    close.addEventListener("click", () => {
      this.chainKey = null;
      this.chain.hidden = true;
      this.#draw(true);
    });
    const heading = document.createElement("h3");
    heading.textContent = `Causal chain (correlation ${this.chainKey})`;
    const steps = document.createElement("ol");
    steps.className = "steps";
    steps.append(...links.map(chainStep));
    this.chain.replaceChildren(heading, close, steps);
    this.chain.hidden = false;
  }
}

/** What ties a chain together: the correlation id, or the id of the event that began it. */
function chainKey(event) {
  return event.correlation_id ?? event.id;
}

function eventRow(event, inChain) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = inChain ? "event in-chain" : "event";
  button.dataset.seq = event.seq;
  button.dataset.type = event.type;
  button.setAttribute("aria-label", `seq ${event.seq}, ${event.type}: show its causal chain`);
  button.append(
    cell("seq", `#${event.seq}`),
    cell("type", event.type),
    cell("stream", event.stream ?? "—"),
    cell("data", JSON.stringify(event.data)),
  );
  li.append(button);
  return li;
}

function chainStep(event) {
  const li = document.createElement("li");
  const caused = event.causation_id ? ` · caused by ${event.causation_id}` : "";
  li.append(
    cell("seq", `#${event.seq}`),
    cell("type", event.type),
    cell("source", `${event.source ?? "?"}${caused}`),
    cell("data", JSON.stringify(event.data)),
  );
  return li;
}

function cell(className, text) {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  return span;
}
