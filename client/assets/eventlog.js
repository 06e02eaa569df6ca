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

export class EventLog {
  /** `onEvent(envelope)` is called for every event as it arrives. */
  constructor({ onEvent, onConnection }) {
    this.onEvent = onEvent;
    this.onConnection = onConnection;
    this.events = [];
    this.types = new Set();
    this.list = document.getElementById("log");
    this.filter = document.getElementById("log-filter");
    this.count = document.getElementById("log-count");
    this.chain = document.getElementById("chain");
    this.chainKey = null;
    this.drawPending = false;
    this.drawnSeq = 0;
    this.filter.addEventListener("change", () => this.#draw(true));
    this.list.addEventListener("click", (event) => this.#select(event.target.closest("button")));
  }

  /** Follows the bus's stream from a little before its head (`head_seq`). */
  follow(headSeq) {
    const after = Math.max(0, headSeq - HISTORY);
    const stream = new EventSource(`/bus/events/stream?after=${after}`);
    stream.onopen = () => this.onConnection(true);
    stream.onerror = () => this.onConnection(false);
    stream.onmessage = (message) => this.#receive(JSON.parse(message.data));
  }

  #receive(envelope) {
    this.events.push(envelope);
    if (this.events.length > KEPT) this.events.splice(0, this.events.length - KEPT);
    if (!this.types.has(envelope.type)) this.#addType(envelope.type);
    this.onEvent(envelope);
    if (!this.drawPending) {
      this.drawPending = true;
      setTimeout(() => requestAnimationFrame(() => this.#draw()), DRAW_EVERY_MS);
    }
  }

  #addType(type) {
    this.types.add(type);
    const option = new Option(type, type);
    const options = [...this.filter.options].slice(1);
    const before = options.find((o) => o.value > type);
    this.filter.add(option, before ?? null);
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
