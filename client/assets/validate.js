// The services' rules for what a reader types, checked before sending: titles hold 1–200
// characters and comments 1–2000, counted as Unicode code points once trimmed of the same
// whitespace Rust's `str::trim` removes (JavaScript's own `trim` differs: it keeps U+0085
// and removes U+FEFF).

const EDGE_WHITESPACE =
  /^[\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+|[\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$/g;

/** The most characters of a post's title (posts' `MAX_TITLE_CHARS`). */
export const MAX_TITLE = 200;
/** The most characters of a comment (comments' `MAX_CONTENT_CHARS`). */
export const MAX_CONTENT = 2000;

/** `text` trimmed as the services trim it. */
export function trimmed(text) {
  return text.replace(EDGE_WHITESPACE, "");
}

/** Characters as the services count them (code points, not UTF-16 units). */
export function characters(text) {
  return [...text].length;
}

/** null when `text` is a valid title, else the sentence saying why not. */
export function titleProblem(text) {
  return lengthProblem("title", text, MAX_TITLE);
}

/** null when `text` is a valid comment, else the sentence saying why not. */
export function contentProblem(text) {
  return lengthProblem("comment", text, MAX_CONTENT);
}

function lengthProblem(what, text, max) {
  const count = characters(trimmed(text));
  if (count === 0) return `Write a ${what} first: it cannot be empty.`;
  if (count > max) return `A ${what} holds at most ${max} characters; this one has ${count}.`;
  return null;
}
