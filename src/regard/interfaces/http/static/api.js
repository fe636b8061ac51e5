// The JSON API, with the session's CSRF token on every change and the server's error messages
// passed on as they are: they are written for people.

let csrf = null;

export function setCsrf(token) {
  csrf = token;
}

export class ApiError extends Error {
  constructor(status, type, message, extra = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.extra = extra;
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

async function failure(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const err = body && body.error;
  if (err && err.message) {
    const { type, message, ...extra } = err;
    return new ApiError(res.status, type, message, extra);
  }
  const generic =
    res.status >= 500
      ? "The server could not do this; the details are in its log."
      : `The server answered ${res.status} ${res.statusText}.`;
  return new ApiError(res.status, "HTTPError", generic);
}

/** The answer boot.js asked for at `url` before the modules ran, taken once; else null. */
function early(url) {
  const kept = window.regardEarly;
  if (!kept || !kept.has(url)) return null;
  const answer = kept.get(url);
  kept.delete(url);
  return answer;
}

/** The first screen is shown: what boot.js asked for and nobody took is stale from now. */
export function dropEarly() {
  window.regardEarly?.clear();
}

/**
 * Call the API. `json` sends a JSON body, `form` a FormData; `params` become the query;
 * `blob: true` returns the response body as a Blob (for images and zips).
 */
export async function api(method, path, { json, form, params, blob, signal } = {}) {
  const headers = { Accept: blob ? "*/*" : "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const url = `/api${path}${query(params)}`;
  let res = method === "GET" && !blob ? await early(url) : null;
  try {
    res ||= await fetch(url, {
      method,
      headers,
      body,
      credentials: "same-origin",
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    const message = "Regard's server cannot be reached. Is it still running?";
    throw new ApiError(0, "NetworkError", message);
  }
  if (!res.ok) throw await failure(res);
  if (blob) return res.blob();
  return res.json();
}

export const get = (path, opts) => api("GET", path, opts);
export const post = (path, opts) => api("POST", path, opts);
export const patch = (path, opts) => api("PATCH", path, opts);
export const del = (path, opts) => api("DELETE", path, opts);

/**
 * POST a FormData with upload progress (fetch cannot report it): `onProgress(loaded, total)`
 * as the body is sent. Answers and errors as `api` gives them.
 */
export function upload(path, form, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api${path}`);
    xhr.setRequestHeader("Accept", "application/json");
    if (csrf) xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.withCredentials = true;
    xhr.upload.addEventListener("progress", (e) => {
      if (onProgress && e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener("load", async () => {
      const res = new Response(xhr.responseText, {
        status: xhr.status,
        statusText: xhr.statusText,
        headers: { "Content-Type": xhr.getResponseHeader("Content-Type") || "" },
      });
      if (!res.ok) reject(await failure(res));
      else resolve(res.json());
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, "NetworkError", "Regard's server cannot be reached. Is it still running?")),
    );
    xhr.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}
