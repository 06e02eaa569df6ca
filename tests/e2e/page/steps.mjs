// Steps on the page that several tests take.

import { PATIENCE_MS, need } from "./browser.mjs";

/** Opens the page and waits until it follows the bus's event stream. */
export async function load(page) {
  await page.goto(need("CLIENT_URL"));
  await page.getByText("Live: following the bus's event stream.").waitFor({ timeout: PATIENCE_MS });
}

/** Clicks `action` on subscription `name` and waits for the panel to show `state`. */
export async function subscription(page, name, action, state) {
  await page.getByRole("button", { name: `${action} ${name}`, exact: true }).click();
  const row = page.locator(`#subs tr[data-name="${name}"]`);
  await row.locator(`.state:text-is("${state}")`).waitFor({ timeout: PATIENCE_MS });
}

/** Polls `probe` (every 50 ms) until it answers true; throws naming `what` past PATIENCE_MS. */
export async function until(what, probe) {
  const deadline = Date.now() + PATIENCE_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`waited ${PATIENCE_MS} ms in vain until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
