// The page's calls, all to its own origin (the gateway of `minibus client`), and their
// failures turned into words a reader understands.

/** What a service is called in a sentence. */
const SERVICE_WORDS = {
  posts: "the posts service",
  comments: "the comments service",
  query: "the query service",
  bus: "the bus",
};

/** A call that did not succeed: `message` is a sentence for the page. */
export class ApiFailure extends Error {
  constructor(message, { status = 0, code = "", service = "" } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.service = service;
  }

  /**
   * True when the write certainly did not happen: the gateway could not reach the service
   * (`502 upstream_unavailable`), or the service refused it (4xx). A timeout, another 5xx or
   * a connection lost after sending may have come after the write was saved.
   */
  get notSaved() {
    return this.code === "upstream_unavailable" || (this.status >= 400 && this.status < 500);
  }
}

/** `method path` with an optional JSON body; resolves to `{ json, headers }` on 2xx. */
export async function call(method, path, body) {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiFailure("the page cannot reach minibus client", { code: "network" });
  }
  const json = await readJson(response);
  if (!response.ok) throw failure(response.status, json);
  return { json, headers: response.headers };
}

/** A header holding a seq (`Minibus-Seq`, `Minibus-Applied-Seq`), or null. */
export function seqHeader(headers, name) {
  const value = headers.get(name);
  return value === null || value === "" ? null : Number(value);
}

/** The words for a service's name (`comments` → "the comments service"). */
export function serviceWords(service) {
  return SERVICE_WORDS[service] ?? `the ${service} service`;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function failure(status, json) {
  const code = json?.error ?? "";
  if (code === "upstream_unavailable") {
    const service = json.service ?? "";
    return new ApiFailure(`${serviceWords(service)} is unavailable`, { status, code, service });
  }
  const message = json?.message ?? `the server answered ${status}`;
  return new ApiFailure(message, { status, code });
}
