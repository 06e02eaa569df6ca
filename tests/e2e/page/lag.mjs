// Eventual consistency, visible: pausing query from the subscribers panel and writing a
// post shows query's lag at 1 and the post not listed (it is written, and on the bus);
// resuming shows it arrive and the lag return to 0; rewinding query to the start rebuilds
// its projection, and the list ends the same. Screenshots of each state go to SHOTS_DIR.

import { PATIENCE_MS, check, open, run } from "./browser.mjs";
import { load, subscription } from "./steps.mjs";

const TITLE = "Written while query sleeps";

run(async () => {
  const session = await open();
  const { page } = session;
  await load(page);
  const query = page.locator('#subs tr[data-name="query"]');

  await subscription(page, "query", "Pause", "paused");
  await page.getByLabel("Title").fill(TITLE);
  await page.getByRole("button", { name: "Publish" }).click();
  await page.locator("#post-status").getByText("query has not applied it yet").waitFor({ timeout: PATIENCE_MS });
  await query.locator('.lag:text-is("1")').waitFor({ timeout: PATIENCE_MS });
  await page.locator("#log .event[data-type=PostCreated]").first().waitFor({ timeout: PATIENCE_MS });
  check(!(await listed(page)), "the post is listed while query is paused");
  await session.shot("07-query-paused");

  await subscription(page, "query", "Resume", "active");
  await page.locator(".post .title", { hasText: TITLE }).waitFor({ timeout: PATIENCE_MS });
  await page.locator("#post-status").getByText("query has applied it, after lagging behind")
    .waitFor({ timeout: PATIENCE_MS });
  await query.locator('.lag:text-is("0")').waitFor({ timeout: PATIENCE_MS });
  await session.shot("08-query-resumed");

  await page.getByRole("button", { name: "Rewind query", exact: true }).click();
  await page.locator("#subs-status").getByText("query rewound to the start").waitFor({ timeout: PATIENCE_MS });
  await query.locator('.lag:text-is("0")').waitFor({ timeout: PATIENCE_MS });
  check(await listed(page), "the post is gone after query's rebuild");
  return session.close();
});

async function listed(page) {
  const titles = await page.locator(".post .title").allTextContents();
  return titles.includes(TITLE);
}
