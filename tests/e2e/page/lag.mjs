// Eventual consistency, visible: pausing query from the subscribers panel and writing two
// posts (the form is free again as soon as posts answers, however far query lags) shows
// query's lag at 2 and neither post listed (they are written, and on the bus); resuming
// shows them arrive and the lag return to 0. Pausing and rewinding query to the start shows
// its lag at the bus's head; resuming makes the page read query again (a rewind publishes no
// event) and list the posts. Screenshots of each state go to SHOTS_DIR.

import { PATIENCE_MS, check, open, run } from "./browser.mjs";
import { load, subscription, until } from "./steps.mjs";

const FIRST = "Written while query sleeps";
const SECOND = "Written second, query still asleep";

run(async () => {
  const session = await open();
  const { page } = session;
  await load(page);
  const query = page.locator('#subs tr[data-name="query"]');
  const status = page.locator("#post-status");

  await subscription(page, "query", "Pause", "paused");
  await publish(page, FIRST);
  await status.getByText("query has not applied it yet").waitFor({ timeout: PATIENCE_MS });
  await query.locator('.lag:text-is("1")').waitFor({ timeout: PATIENCE_MS });
  await page.locator("#log .event[data-type=PostCreated]").first().waitFor({ timeout: PATIENCE_MS });
  check(await page.getByRole("button", { name: "Publish" }).isEnabled(),
    "the post form is held while query lags");
  await publish(page, SECOND);
  await status.filter({ hasText: SECOND }).filter({ hasText: "query has not applied it yet" })
    .waitFor({ timeout: PATIENCE_MS });
  await query.locator('.lag:text-is("2")').waitFor({ timeout: PATIENCE_MS });
  check((await listed(page)).length === 0, "a post is listed while query is paused");
  await session.shot("07-query-paused");

  await subscription(page, "query", "Resume", "active");
  await until("both posts are listed", async () => (await listed(page)).length === 2);
  await status.filter({ hasText: SECOND }).filter({ hasText: "query has applied it, after lagging behind" })
    .waitFor({ timeout: PATIENCE_MS });
  await query.locator('.lag:text-is("0")').waitFor({ timeout: PATIENCE_MS });
  await session.shot("08-query-resumed");

  await subscription(page, "query", "Pause", "paused");
  await page.getByRole("button", { name: "Rewind query", exact: true }).click();
  await page.locator("#subs-status").getByText("query rewound to the start").waitFor({ timeout: PATIENCE_MS });
  const head = await page.evaluate(async () => (await (await fetch("/bus/info")).json()).head_seq);
  await query.locator(`.lag:text-is("${head}")`).waitFor({ timeout: PATIENCE_MS });
  const before = session.requests.length;
  await subscription(page, "query", "Resume", "active");
  await until("the page reads query again after the resume", () =>
    session.requests.slice(before).some((url) => new URL(url).pathname === "/posts"));
  await query.locator('.lag:text-is("0")').waitFor({ timeout: PATIENCE_MS });
  await until("both posts are listed after query's rebuild", async () => (await listed(page)).length === 2);
  return session.close();
});

async function publish(page, title) {
  await page.getByLabel("Title").fill(title);
  await page.getByRole("button", { name: "Publish" }).click({ timeout: PATIENCE_MS });
}

/** The titles of ours that the list shows. */
async function listed(page) {
  const titles = await page.locator(".post .title").allTextContents();
  return titles.filter((title) => title === FIRST || title === SECOND);
}
