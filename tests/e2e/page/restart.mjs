// The bus killed and started again under the open page. The test (tests/e2e/page.rs) acts
// on the stack when this script signals it, by creating a file in SIGNALS_DIR: `live` (the
// page follows the stream and a post is written: the test kills the bus), `bus-down-seen`
// (the page says it is reconnecting and the browser has been answered 502 for the stream,
// which makes it give the stream up: the test starts the bus again). Then the page must say
// it is live again, list a new post and a new comment, show their events once each in the
// log from where it was, change the comment's state live, and clear the subscribers
// panel's read error. The console may hold the browser's notes of the 502 answers and of
// the stream the kill cut short.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PATIENCE_MS, check, need, open, run } from "./browser.mjs";
import { load, until } from "./steps.mjs";

const RECONNECTING = "The bus's event stream is interrupted; reconnecting…";
const LIVE = "Live: following the bus's event stream.";

run(async () => {
  const allowConsole = [/status of 502/, /EventSource's response has a MIME type/, /ERR_INCOMPLETE_CHUNKED/];
  const session = await open({ allowConsole });
  const { page } = session;
  const streamAnswers = [];
  page.on("response", (response) => {
    if (new URL(response.url()).pathname === "/bus/events/stream") streamAnswers.push(response.status());
  });
  await load(page);
  await publish(page, "Before the bus restarts");
  signal("live");

  await page.getByText(RECONNECTING).waitFor({ timeout: PATIENCE_MS });
  await until("the browser was answered 502 for the stream", () => streamAnswers.includes(502));
  await page.locator("#subs-status").getByText("Cannot read the subscriptions").waitFor({ timeout: PATIENCE_MS });
  await session.shot("11-bus-down");
  signal("bus-down-seen");

  await page.getByText(LIVE).waitFor({ timeout: PATIENCE_MS });
  const post = await publish(page, "After the bus restarted");
  const form = post.locator(".comment-form");
  await form.getByLabel("Add a comment").fill("Welcome back, bus");
  await form.getByRole("button", { name: "Comment" }).click();
  await post.locator(".comment.approved").getByText("Welcome back, bus").waitFor({ timeout: PATIENCE_MS });
  await page.locator('#log .event[data-type="CommentUpdated"]').waitFor({ timeout: PATIENCE_MS });
  const seqs = await page.locator("#log .event").evaluateAll((rows) => rows.map((r) => Number(r.dataset.seq)));
  const sorted = [...seqs].sort((a, b) => a - b);
  check(sorted.join() === [1, 2, 3, 4, 5].join(), `seqs 1..5 once each expected, the log shows ${seqs}`);
  await until("the subscribers panel's read error is cleared", async () =>
    !(await page.locator("#subs-status").textContent()).includes("Cannot read"));
  await session.shot("12-bus-back");
  return { seqs, stream_answers: streamAnswers, ...(await session.close()) };
});

function signal(name) {
  writeFileSync(join(need("SIGNALS_DIR"), name), "");
}

/** Writes a post through the page; its item once query lists it. */
async function publish(page, title) {
  await page.getByLabel("Title").fill(title);
  await page.getByRole("button", { name: "Publish" }).click();
  const post = page.locator(".post", { has: page.getByRole("heading", { name: title }) });
  await post.waitFor({ timeout: PATIENCE_MS });
  return post;
}
