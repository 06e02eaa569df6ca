// The blog column: the post form, the list of posts with their comments (as query has
// them), and each post's comment form. Writes go to posts and comments (the write side);
// the list only ever shows what query (the read side) answered.

import { call, seqHeader } from "./api.js";
import { contentProblem, titleProblem, trimmed } from "./validate.js";

/** How many posts are drawn at first, and how many more each "show more" adds. */
const PAGE = 50;

/** What a comment shows in each state, in the course's words. */
const COMMENT_WORDS = {
  pending: () => "This comment is awaiting moderation",
  rejected: () => "This comment has been rejected",
  approved: (comment) => comment.content,
};

export class Blog {
  constructor(readSide) {
    this.readSide = readSide;
    this.list = document.getElementById("posts");
    this.empty = document.getElementById("posts-empty");
    this.template = document.getElementById("post-template");
    this.shown = PAGE;
    this.postsById = {};
    this.posts = [];
    this.drawn = new Map();
    this.more = moreButton(() => this.#showMore());
    this.list.after(this.more);
    wirePostForm(this);
  }

  /** Draws query's answer: newest first, only the posts that changed. */
  show(postsById) {
    this.postsById = postsById;
    this.posts = Object.values(postsById).reverse();
    const visible = this.posts.slice(0, this.shown);
    const keep = new Set(visible.map((post) => post.id));
    for (const [id, item] of this.drawn) {
      if (!keep.has(id)) {
        item.remove();
        this.drawn.delete(id);
      }
    }
    let previous = null;
    for (const post of visible) {
      const item = this.drawn.get(post.id) ?? this.#newItem(post);
      drawPost(item, post);
      const expected = previous ? previous.nextElementSibling : this.list.firstElementChild;
      if (expected !== item) previous ? previous.after(item) : this.list.prepend(item);
      previous = item;
    }
    this.empty.hidden = this.posts.length > 0;
    this.more.hidden = this.posts.length <= this.shown;
    this.more.textContent = `Show older posts (${this.posts.length - this.shown} more)`;
  }

  #newItem(post) {
    const item = this.template.content.firstElementChild.cloneNode(true);
    item.dataset.id = post.id;
    wireCommentForm(item, post.id, this.readSide);
    this.drawn.set(post.id, item);
    return item;
  }

  #showMore() {
    this.shown += PAGE;
    this.show(this.postsById);
  }
}

function moreButton(onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "more";
  button.hidden = true;
  button.addEventListener("click", onClick);
  return button;
}

/** Fills a post's item; skipped when nothing in it changed since it was last drawn. */
function drawPost(item, post) {
  const signature = JSON.stringify(post);
  if (item.dataset.signature === signature) return;
  item.dataset.signature = signature;
  item.querySelector(".title").textContent = post.title;
  const count = post.comments.length;
  item.querySelector(".meta").textContent =
    `post ${post.id} · ${count} comment${count === 1 ? "" : "s"}`;
  const list = item.querySelector(".comments");
  list.replaceChildren(...post.comments.map(commentItem));
}

function commentItem(comment) {
  const li = document.createElement("li");
  const words = COMMENT_WORDS[comment.status] ?? (() => `(${comment.status}) ${comment.content}`);
  li.className = `comment ${comment.status}`;
  li.dataset.id = comment.id;
  li.dataset.status = comment.status;
  li.textContent = words(comment);
  return li;
}

function wirePostForm(blog) {
  const form = document.getElementById("post-form");
  const input = form.elements.title;
  const status = document.getElementById("post-status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problem = titleProblem(input.value);
    if (problem) return invalid(input, status, problem);
    await submit(form, status, blog.readSide, async () => {
      // The course's route: behind its Ingress only `/posts/create` reaches posts.
      const { json, headers } = await call("POST", "/posts/create", { title: trimmed(input.value) });
      input.value = "";
      return { seq: seqHeader(headers, "minibus-seq"), saved: `Post “${json.title}” saved by posts` };
    }, "your post");
  });
  input.addEventListener("input", () => valid(input, status));
}

function wireCommentForm(item, postId, readSide) {
  const form = item.querySelector(".comment-form");
  const input = form.elements.content;
  const status = form.querySelector(".status");
  const label = form.querySelector("label");
  input.id = `comment-${postId}`;
  label.htmlFor = input.id;
  status.id = `comment-status-${postId}`;
  input.setAttribute("aria-describedby", status.id);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problem = contentProblem(input.value);
    if (problem) return invalid(input, status, problem);
    await submit(form, status, readSide, async () => {
      const path = `/posts/${encodeURIComponent(postId)}/comments`;
      const { headers } = await call("POST", path, { content: trimmed(input.value) });
      input.value = "";
      return {
        seq: seqHeader(headers, "minibus-seq"),
        saved: "Comment saved by comments; moderation will judge it",
      };
    }, "your comment");
  });
  input.addEventListener("input", () => valid(input, status));
}

/** Each status line's newest message: a write's late news must not overwrite a newer one. */
const newestMessage = new WeakMap();

/** A function that sets `status`, until something newer is said there. */
function speaker(status) {
  const ticket = (newestMessage.get(status) ?? 0) + 1;
  newestMessage.set(status, ticket);
  return (text, className = "status") => {
    if (newestMessage.get(status) !== ticket) return;
    status.className = className;
    status.textContent = text;
  };
}

/**
 * Runs a write with its form disabled until the service answers (never while query
 * catches up: the next write need not wait for the read side); a failure is said with what
 * it means for the write (`what`: "your post").
 */
async function submit(form, status, readSide, write, what) {
  const say = speaker(status);
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  say("Sending…");
  let answer;
  try {
    answer = await write();
  } catch (failure) {
    const outcome = failure.notSaved
      ? `${what} was not saved`
      : `${what} may not have been saved; reload to check`;
    return say(`${capital(failure.message)}; ${outcome}.`, "status error");
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
  await followWrite(readSide, say, answer.seq, answer.saved);
}

/** After a write answered with `seq`: waits for query to hold it, saying what happens. */
async function followWrite(readSide, say, seq, saved) {
  if (seq === null) {
    return say(`${saved}. The bus is unreachable: its event goes out when it returns.`);
  }
  say(`${saved}, event seq ${seq} on the bus; waiting for query…`);
  const applied = await readSide.want(seq);
  if (applied >= seq) return say(`${saved}, event seq ${seq}; query has applied it.`);
  say(
    `${saved}, event seq ${seq}; query has not applied it yet (it is at seq ${applied}): ` +
      "the read side lags, and the list catches up when query does.",
    "status lag",
  );
  await readSide.reached(seq);
  say(`${saved}, event seq ${seq}; query has applied it, after lagging behind.`);
}

function invalid(input, status, problem) {
  input.setAttribute("aria-invalid", "true");
  speaker(status)(problem, "status error");
  input.focus();
}

function valid(input, status) {
  if (input.getAttribute("aria-invalid") !== "true") return;
  input.removeAttribute("aria-invalid");
  speaker(status)("");
}

function capital(sentence) {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}
