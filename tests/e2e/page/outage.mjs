// A service that is down, in words: with the comments service stopped (by the test, before
// this runs), adding a comment to an existing post says "The comments service is
// unavailable; your comment was not saved." A write whose answer is a timeout (the
// gateway's `504 upstream_timeout`, played here by the browser, since a real one needs a
// service that hangs) may have been saved: the page says so, and to reload. The only
// console errors allowed are the browser's own notes of the 502 and 504 answers. A
// screenshot goes to SHOTS_DIR.

import { PATIENCE_MS, check, open, run } from "./browser.mjs";
import { load } from "./steps.mjs";

const SAID = "The comments service is unavailable; your comment was not saved.";
const TIMED_OUT = "The posts service did not answer in time; your post may not have been saved; reload to check.";

run(async () => {
  const session = await open({ allowConsole: [/status of 50[24]/] });
  const { page } = session;
  await load(page);
  const post = page.locator(".post").first();
  await post.waitFor({ timeout: PATIENCE_MS });
  const form = post.locator(".comment-form");
  await form.getByLabel("Add a comment").fill("Is anybody there?");
  await form.getByRole("button", { name: "Comment" }).click();
  const status = form.locator(".status");
  await status.getByText(SAID, { exact: true }).waitFor({ timeout: PATIENCE_MS });
  check((await post.locator(".comment").count()) === 0, "a comment is listed");
  check(await form.getByLabel("Add a comment").inputValue() === "Is anybody there?",
    "the unsaved comment was cleared from its field");
  await session.shot("09-comments-down");

  await page.route("**/posts/create", (route) => route.fulfill({
    status: 504,
    contentType: "application/json",
    body: JSON.stringify({ error: "upstream_timeout", message: "the posts service did not answer in time", service: "posts" }),
  }));
  await page.getByLabel("Title").fill("Slow to answer");
  await page.getByRole("button", { name: "Publish" }).click();
  await page.locator("#post-status").getByText(TIMED_OUT, { exact: true }).waitFor({ timeout: PATIENCE_MS });
  return session.close();
});
