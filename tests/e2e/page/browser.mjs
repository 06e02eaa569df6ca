// The browser harness the page's tests share: Debian's Chromium driven by playwright-core
// (never a browser playwright downloads), a fresh profile per run, every request the page
// makes recorded and any request to another origin refused, console errors collected, and
// screenshots written under SHOTS_DIR.
//
// Environment (set by tests/e2e/page.rs): CLIENT_URL (the page), CHROMIUM (the browser),
// NODE_PACKAGES (the directory holding node_modules with playwright-core), SHOTS_DIR.

import { createRequire } from "node:module";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const require = createRequire(join(resolve(need("NODE_PACKAGES")), "package.json"));
const { chromium } = require("playwright-core");

/** How long any one wait of a test may take on a loaded machine. */
export const PATIENCE_MS = 30000;

/** The flags the browser runs with: headless, no sandbox (root in CI), nothing phoning home. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (tests/e2e/page.rs sets it)`);
  return value;
}

/**
 * A browser on a fresh profile with one page at `viewport`; `page.goto(CLIENT_URL)` is left
 * to the test. `close()` asserts that no request left the client's origin and that the
 * console had no errors but those `allowConsole` matches.
 */
export async function open({ viewport = { width: 1280, height: 900 }, allowConsole = [], guard = true } = {}) {
  const origin = new URL(need("CLIENT_URL")).origin;
  const profile = mkdtempSync(join(tmpdir(), "minibus-page-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: need("CHROMIUM"),
    headless: true,
    args: FLAGS,
    viewport,
  });
  const session = new Session(context, origin, profile, allowConsole);
  // The guard sees every request; a measurement may go without it, since routing each
  // request through this process adds to its time.
  if (guard) await context.route("**/*", (route) => session.guard(route));
  else context.on("request", (request) => session.note(request.url()));
  const page = context.pages()[0] ?? (await context.newPage());
  session.watch(page);
  return session;
}

class Session {
  constructor(context, origin, profile, allowConsole) {
    this.context = context;
    this.origin = origin;
    this.profile = profile;
    this.allowConsole = allowConsole;
    this.requests = [];
    this.foreign = [];
    this.consoleErrors = [];
    this.page = null;
  }

  /** Lets a request through only to the client's own origin; records every one. */
  guard(route) {
    const url = route.request().url();
    if (this.note(url)) return route.continue();
    return route.abort("blockedbyclient");
  }

  /** Records a request; whether it is to the client's own origin. */
  note(url) {
    this.requests.push(url);
    const local = url.startsWith(`${this.origin}/`) || url.startsWith("data:");
    if (!local) this.foreign.push(url);
    return local;
  }

  watch(page) {
    this.page = page;
    page.on("console", (message) => {
      if (message.type() === "error") this.consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => this.consoleErrors.push(`uncaught: ${error.message}`));
  }

  /** A screenshot of the whole page as SHOTS_DIR/<name>.png. */
  async shot(name) {
    const dir = need("SHOTS_DIR");
    mkdirSync(dir, { recursive: true });
    await this.page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  }

  /** Checks what the whole session did, closes the browser, removes its profile. */
  async close() {
    await this.context.close();
    rmSync(this.profile, { recursive: true, force: true });
    const unexpected = this.consoleErrors.filter(
      (text) => !this.allowConsole.some((allowed) => allowed.test(text)),
    );
    check(this.foreign.length === 0, `requests left the machine: ${this.foreign.join(", ")}`);
    check(unexpected.length === 0, `console errors: ${unexpected.join(" | ")}`);
    check(this.requests.length > 0, "the page made no request at all");
    return { requests: this.requests.length, console_errors: this.consoleErrors };
  }
}

/** Throws `message` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Runs a test body: prints its JSON summary on success, the error and exit 1 otherwise. */
export async function run(body) {
  try {
    const summary = await body();
    console.log(JSON.stringify({ ok: true, ...summary }));
  } catch (error) {
    console.error(error?.stack ?? String(error));
    process.exit(1);
  }
}
