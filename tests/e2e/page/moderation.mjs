// Writing through the page: a post, then comments that show "This comment is awaiting
// moderation" while moderation is paused from the subscribers panel, their text once it
// resumes, and "This comment has been rejected" for one with "orange", all without a
// reload; the event log shows the new events with their seqs, filters by type, and shows a
// comment's causal chain; the forms refuse what the services would refuse, without a
// request; the keyboard alone writes a post; every control has a label; the page fits a
// phone's width. Screenshots of each state go to SHOTS_DIR.

import { PATIENCE_MS, check, open, run } from "./browser.mjs";
import { load, subscription } from "./steps.mjs";
import { labelled, fitsWidth, readableContrast } from "./checks.mjs";

run(async () => {
  const session = await open();
  const { page } = session;
  const writes = [];
  page.on("request", (r) => r.method() === "POST" && writes.push(new URL(r.url()).pathname));
  await load(page);
  await page.evaluate(() => (window.notReloaded = true));
  await session.shot("01-empty");

  await refusesBadTitles(page, writes);
  const post = await writePostWithKeyboard(page);
  await session.shot("02-post-written");

  await refusesBadComments(post);
  check(writes.length === 1, `invalid comments were sent: ${writes}`);
  await subscription(page, "moderation", "Pause", "paused");
  await comment(page, post, "Nice post, bus!");
  const pending = post.locator(".comment").first();
  await pending.getByText("This comment is awaiting moderation").waitFor({ timeout: PATIENCE_MS });
  await session.shot("03-comment-pending");
  await subscription(page, "moderation", "Resume", "active");
  await pending.getByText("Nice post, bus!").waitFor({ timeout: PATIENCE_MS });
  await comment(page, post, "I like Orange juice");
  const rejected = post.locator(".comment").nth(1);
  await rejected.getByText("This comment has been rejected").waitFor({ timeout: PATIENCE_MS });
  check(await page.evaluate(() => window.notReloaded === true), "the page reloaded");
  await session.shot("04-comments-moderated");

  const seqs = await eventLogShowsTheChain(page);
  await session.shot("05-causal-chain");
  check(await labelled(page), "a control has no label");
  const contrast = await readableContrast(page);
  await page.setViewportSize({ width: 390, height: 844 });
  check(await fitsWidth(page), "the page is wider than a phone's screen");
  await session.shot("06-phone");
  return { seqs, contrast, ...(await session.close()) };
});

/** An empty, blank or over-long title is refused in words, and nothing is sent. */
async function refusesBadTitles(page, writes) {
  const title = page.getByLabel("Title");
  const status = page.locator("#post-status");
  for (const [text, words] of [["", "cannot be empty"], ["  \u0085 ", "cannot be empty"],
    ["x".repeat(201), "at most 200 characters"]]) {
    await title.fill(text);
    await page.getByRole("button", { name: "Publish" }).click();
    await status.getByText(words).waitFor({ timeout: PATIENCE_MS });
    check((await title.getAttribute("aria-invalid")) === "true", `"${text}" not marked invalid`);
  }
  check(writes.length === 0, `invalid titles were sent: ${writes}`);
}

/** A blank or over-long comment (2,001 characters, one of them outside the BMP) is refused. */
async function refusesBadComments(post) {
  const form = post.locator(".comment-form");
  for (const [text, words] of [[" \t\n ", "cannot be empty"], ["😀" + "x".repeat(2000), "at most 2000 characters"]]) {
    await form.getByLabel("Add a comment").fill(text);
    await form.getByRole("button", { name: "Comment" }).click();
    await form.locator(".status").getByText(words).waitFor({ timeout: PATIENCE_MS });
  }
}

/** Tab to the title, type, Enter: the post is listed once query has applied it. */
async function writePostWithKeyboard(page) {
  await page.locator("body").click({ position: { x: 1, y: 1 } });
  for (let i = 0; i < 10 && !(await page.getByLabel("Title").evaluate((e) => e === document.activeElement)); i++) {
    await page.keyboard.press("Tab");
  }
  await page.keyboard.type("  Hello, bus  ");
  await page.keyboard.press("Enter");
  await page.locator("#post-status").getByText("query has applied it").waitFor({ timeout: PATIENCE_MS });
  const post = page.locator(".post", { has: page.getByRole("heading", { name: "Hello, bus" }) });
  await post.waitFor({ timeout: PATIENCE_MS });
  return post;
}

async function comment(page, post, text) {
  const form = post.locator(".comment-form");
  await form.getByLabel("Add a comment").fill(text);
  await form.getByRole("button", { name: "Comment" }).click();
  await form.locator(".status").getByText("query has applied it").waitFor({ timeout: PATIENCE_MS });
}

/**
 * The log lists each new event with its seq; the type filter keeps one type; clicking the
 * rejected comment's CommentCreated shows CommentCreated → CommentModerated →
 * CommentUpdated. Returns the seqs of the types seen.
 */
async function eventLogShowsTheChain(page) {
  const log = page.locator("#log");
  const seqsOf = async (type) =>
    log.locator(`.event[data-type="${type}"]`).evaluateAll((rows) => rows.map((r) => Number(r.dataset.seq)));
  // The panel draws new rows at most every 200 ms: wait for all seven (one post, two
  // comments with their verdicts and updates), not just the first of each type.
  await page.waitForFunction(() => document.querySelectorAll("#log .event").length >= 7, null, { timeout: PATIENCE_MS });
  const seqs = {};
  for (const type of ["PostCreated", "CommentCreated", "CommentModerated", "CommentUpdated"]) {
    seqs[type] = await seqsOf(type);
  }
  check(seqs.PostCreated.length === 1 && seqs.CommentCreated.length === 2, JSON.stringify(seqs));
  const all = Object.values(seqs).flat().sort((a, b) => a - b);
  check(all.join() === [1, 2, 3, 4, 5, 6, 7].join(), `seqs 1..7 expected, the log shows ${all}`);
  await page.getByLabel("Type").selectOption("CommentUpdated");
  const shown = await log.locator(".event").evaluateAll((rows) => rows.map((r) => r.dataset.type));
  check(shown.length === 2 && shown.every((t) => t === "CommentUpdated"), `filter shows ${shown}`);
  await page.getByLabel("Type").selectOption("");
  await log.locator(".event", { hasText: "Orange" }).filter({ hasText: "CommentCreated" }).click();
  const chain = page.locator("#chain .steps li .type");
  await page.waitForFunction(() => document.querySelectorAll("#chain .steps li").length === 3, null, { timeout: PATIENCE_MS });
  const types = await chain.allTextContents();
  check(types.join() === "CommentCreated,CommentModerated,CommentUpdated", `the chain is ${types}`);
  return seqs;
}
