// A measurement to run by hand (not a test: it asserts nothing but that the page works),
// against a fresh `minibus up`:
//
//   CLIENT_URL=http://127.0.0.1:3000 CHROMIUM=/usr/bin/chromium \
//   NODE_PACKAGES=tests/tools SHOTS_DIR=target/page-shots node tests/e2e/page/measure.mjs
//
// It reports (JSON on stdout): the first load's bytes over the wire and its time to first
// paint on an empty blog; then, with the page open, it writes POSTS posts and COMMENTS
// comments through the gateway (each comment makes three events: 1,000 + 3 × 3,000 =
// 10,000 events stream into the log panel), and reports the page's long tasks meanwhile, the
// time to filter the log and to draw a reload with every post, and the DOM's size.

import { open, run } from "./browser.mjs";
import { load } from "./steps.mjs";

const POSTS = Number(process.env.POSTS ?? 1000);
const COMMENTS = Number(process.env.COMMENTS ?? 3000);
const WRITERS = 8;

run(async () => {
  const session = await open({ guard: false });
  const { page } = session;
  const cold = await firstLoad(page);
  await page.evaluate(watchLongTasks);
  const base = new URL(process.env.CLIENT_URL).origin;
  const started = Date.now();
  const ids = await writeAll(POSTS, (i) => post(base, `Post number ${i}`));
  await writeAll(COMMENTS, (i) => comment(base, ids[i % ids.length], `Comment ${i}`));
  const writeSeconds = (Date.now() - started) / 1000;
  const events = POSTS + 3 * COMMENTS;
  await page.waitForFunction((n) => document.getElementById("log-count").textContent.startsWith(`${n} kept`),
    Math.min(events, 10000), { timeout: 600000 });
  const underLoad = await page.evaluate(() => window.longTasks);
  const filterMs = await timed(page, () => page.getByLabel("Type").selectOption("CommentUpdated"));
  const typingMs = await timed(page, () => page.getByLabel("Title").pressSequentially("typing stays quick"));
  const dom = await page.evaluate(() => document.getElementsByTagName("*").length);
  const reload = await firstLoad(page);
  await session.shot("10-measured");
  return {
    first_load: cold, write_seconds: writeSeconds, events,
    long_tasks_under_load: underLoad, filter_ms: filterMs, typing_18_keys_ms: typingMs,
    dom_elements: dom, reload_with_posts: reload, ...(await session.close()),
  };
});

/** Loads the page: bytes over the wire (every finished resource), first paint, first posts. */
async function firstLoad(page) {
  await load(page);
  await page.waitForFunction(() => document.querySelector("#applied").textContent !== "");
  return page.evaluate(() => {
    const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const page = entries.filter((e) => e.entryType === "navigation" || e.name.includes("/assets/"));
    return {
      page_bytes: page.reduce((sum, e) => sum + e.transferSize, 0),
      page_files: page.length,
      api_bytes: entries.reduce((sum, e) => sum + e.transferSize, 0) - page.reduce((sum, e) => sum + e.transferSize, 0),
      first_contentful_paint_ms: Math.round(paint?.startTime ?? -1),
      dom_content_loaded_ms: Math.round(performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd),
    };
  });
}

function watchLongTasks() {
  window.longTasks = { count: 0, total_ms: 0, longest_ms: 0 };
  new PerformanceObserver((list) => {
    for (const task of list.getEntries()) {
      window.longTasks.count += 1;
      window.longTasks.total_ms += Math.round(task.duration);
      window.longTasks.longest_ms = Math.max(window.longTasks.longest_ms, Math.round(task.duration));
    }
  }).observe({ type: "longtask" });
}

async function timed(page, action) {
  const started = performance.now();
  await action();
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
  return Math.round(performance.now() - started);
}

async function writeAll(count, write) {
  const results = new Array(count);
  let next = 0;
  await Promise.all(Array.from({ length: WRITERS }, async () => {
    while (next < count) {
      const i = next++;
      results[i] = await write(i);
    }
  }));
  return results;
}

async function post(base, title) {
  const answer = await send(`${base}/posts`, { title });
  return answer.id;
}

async function comment(base, postId, content) {
  return send(`${base}/posts/${postId}/comments`, { content });
}

async function send(url, body) {
  const response = await fetch(url, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return response.json();
}
