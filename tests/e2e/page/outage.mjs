// A service that is down, in words: with the comments service stopped (by the test, before
// this runs), adding a comment to an existing post says "The comments service is
// unavailable; your comment was not saved." The only console errors allowed are the
// browser's own notes of the gateway's 502 answers. A screenshot goes to SHOTS_DIR.

import { PATIENCE_MS, check, open, run } from "./browser.mjs";
import { load } from "./steps.mjs";

const SAID = "The comments service is unavailable; your comment was not saved.";

run(async () => {
  const session = await open({ allowConsole: [/status of 502/] });
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
  return session.close();
});
