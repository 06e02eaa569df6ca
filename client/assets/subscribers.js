// The subscribers panel: each subscription's cursor, lag, lag in seconds and state, read
// from the bus every second, with pause / resume / rewind-to-start (which the gateway
// forwards only when `minibus client` runs with `--admin-actions`).

import { call } from "./api.js";

/** How often the panel reads the subscriptions. */
const EVERY_MS = 1000;
/** How soon after an event it reads them again. */
const SOON_MS = 300;

/** The actions, as (button text, path suffix, body, what it does in words). */
const ACTIONS = [
  ["Pause", "pause", undefined, "paused: the bus holds its events back"],
  ["Resume", "resume", undefined, "resumed: the bus delivers what it missed"],
  ["Rewind", "rewind", { after: 0 }, "rewound to the start: it gets every event again"],
];

/** A subscription of query (`query`, or `query-0`… for the manifests' replicas). */
const isQuery = (name) => name.startsWith("query");

export class Subscribers {
  /**
   * `onReadSideMoved()` is called after query is resumed or rewound from the panel (neither
   * publishes an event the page would see), and on each read while query then lags.
   */
  constructor({ onReadSideMoved }) {
    this.onReadSideMoved = onReadSideMoved;
    this.body = document.querySelector("#subs tbody");
    this.status = document.getElementById("subs-status");
    this.rows = new Map();
    this.pendingSoon = null;
    this.readError = false;
    this.watchingQuery = false;
    this.adminOff = false;
    this.body.addEventListener("click", (event) => this.#act(event.target.closest("button")));
  }

  /** Reads now, then every second. */
  start() {
    const tick = async () => {
      await this.refresh();
      setTimeout(tick, EVERY_MS);
    };
    tick();
  }

  /** Reads again shortly (an event just arrived: some cursor or lag has changed). */
  soon() {
    if (this.pendingSoon) return;
    this.pendingSoon = setTimeout(() => {
      this.pendingSoon = null;
      this.refresh();
    }, SOON_MS);
  }

  async refresh() {
    try {
      const { json } = await call("GET", "/bus/subscriptions");
      if (this.readError) {
        this.readError = false;
        this.#say("", false);
      }
      this.#draw(json ?? []);
      this.#followQuery(json ?? []);
    } catch (failure) {
      this.#say(`Cannot read the subscriptions: ${failure.message}.`, true);
      this.readError = true;
    }
  }

  /** After query moved: re-reads the list while query lags, and once more when it is done. */
  #followQuery(subscriptions) {
    if (!this.watchingQuery) return;
    this.watchingQuery = subscriptions.some((s) => isQuery(s.name) && s.lag > 0);
    this.onReadSideMoved();
  }

  #draw(subscriptions) {
    const names = new Set(subscriptions.map((s) => s.name));
    for (const [name, row] of this.rows) {
      if (!names.has(name)) {
        row.remove();
        this.rows.delete(name);
      }
    }
    for (const sub of subscriptions) {
      const row = this.rows.get(sub.name) ?? this.#newRow(sub.name);
      const cells = row.cells;
      cells[1].textContent = sub.cursor;
      cells[2].textContent = sub.lag;
      cells[3].textContent = Number(sub.lag_seconds ?? 0).toFixed(1);
      cells[4].textContent = sub.state;
      row.dataset.state = sub.state;
      row.dataset.lag = sub.lag;
      row.classList.toggle("lagging", sub.lag > 0);
    }
  }

  #newRow(name) {
    const row = this.body.insertRow();
    row.dataset.name = name;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = name;
    row.append(th);
    for (const [key, label] of [["cursor", "cursor"], ["lag", "lag"], ["lag-seconds", "lag (s)"], ["state", "state"]]) {
      const cell = row.insertCell();
      cell.className = key;
      cell.dataset.label = label;
    }
    const actions = row.insertCell();
    actions.className = "actions";
    if (this.adminOff) return this.#keep(name, row);
    for (const [text, action] of ACTIONS) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = text;
      button.dataset.action = action;
      button.setAttribute("aria-label", `${text} ${name}`);
      actions.append(button);
    }
    return this.#keep(name, row);
  }

  #keep(name, row) {
    this.rows.set(name, row);
    return row;
  }

  async #act(button) {
    if (!button) return;
    const name = button.closest("tr").dataset.name;
    const [, action, body, done] = ACTIONS.find((a) => a[1] === button.dataset.action);
    button.disabled = true;
    this.readError = false;
    try {
      await call("POST", `/bus/subscriptions/${encodeURIComponent(name)}/${action}`, body);
      this.#say(`${name} ${done}.`, false);
      if (isQuery(name) && action !== "pause") this.watchingQuery = true;
    } catch (failure) {
      if (failure.code === "admin_actions_disabled") return this.#adminActionsOff();
      this.#say(`Could not ${action} ${name}: ${failure.message}.`, true);
    } finally {
      button.disabled = false;
    }
    await this.refresh();
  }

  /** The gateway refuses the actions (it runs without `--admin-actions`): no buttons. */
  #adminActionsOff() {
    this.adminOff = true;
    this.body.querySelectorAll(".actions").forEach((cell) => cell.replaceChildren());
    this.#say("Admin actions are off on this gateway (minibus client --admin-actions).", false);
  }

  #say(text, isError) {
    this.status.className = isError ? "status error" : "status";
    this.status.textContent = text;
  }
}
