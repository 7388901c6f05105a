/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
// @ts-check
// The dashboard's client: sign-in (the token kept for the tab in sessionStorage, sent as a bearer
// token), Server-Sent Events read with fetch (EventSource cannot send headers) with resume from
// the last id, and the router that picks a page by path. Plain JavaScript, no build step.

import { renderWorker } from "./log_view.js";
import { renderPipeline } from "./pipeline_view.js";
import { renderEvents, renderOverview } from "./views.js";

const TOKEN_KEY = "ottoscaler.token";

/** The token of this tab, or "". */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

/** @returns {Record<string, string>} */
function authHeaders() {
  const t = token();
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** Thrown for a refused request; `status` is the HTTP status. */
export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Calls the API; resolves with the JSON body or throws ApiError.
 * @param {string} path @param {RequestInit} [init]
 * @returns {Promise<any>}
 */
export async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: {
      ...authHeaders(),
      "content-type": "application/json",
      ...(init.headers ?? {}),
    },
  });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) signIn(body.message);
  if (!res.ok) throw new ApiError(res.status, body.message ?? res.statusText);
  return body;
}

/**
 * Follows an event stream until `signal` aborts, reconnecting after a drop with Last-Event-ID set
 * to the last id seen (so the server resumes after it: no gap, no repeat).
 * @param {string} path
 * @param {(event: string, data: any, id: string | undefined) => void} onEvent
 * @param {{ signal: AbortSignal, onState?: (state: string) => void }} options
 */
export async function stream(path, onEvent, { signal, onState }) {
  /** @type {string | undefined} */
  let lastId;
  let delay = 500;
  while (!signal.aborted) {
    try {
      /** @type {Record<string, string>} */
      const headers = { ...authHeaders(), accept: "text/event-stream" };
      if (lastId !== undefined) headers["last-event-id"] = lastId;
      const res = await fetch(path, { headers, signal });
      if (res.status === 401) return signIn("");
      if (!res.ok || !res.body) {
        const body = await res.json().catch(() => ({}));
        throw new ApiError(res.status, body.message ?? res.statusText);
      }
      onState?.("live");
      delay = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let ended = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = "message", data = "", id;
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
            else if (line.startsWith("id: ")) id = line.slice(4);
          }
          if (!data) continue;
          if (id !== undefined) lastId = id;
          if (event === "end") ended = true;
          onEvent(event, JSON.parse(data), id);
        }
      }
      if (ended) {
        onState?.("ended");
        return;
      }
      onState?.("reconnecting");
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status < 500) {
        onState?.(`error: ${err.message}`);
        return;
      }
      // Said why when the server said (a standby names the leader); else the connection is gone.
      onState?.(err instanceof ApiError ? `reconnecting (${err.message})` : "reconnecting");
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 8000);
  }
}

/** Shows the sign-in form (the token is kept for this tab only). @param {string} [why] */
export function signIn(why) {
  const main = /** @type {HTMLElement} */ (document.getElementById("main"));
  current?.abort();
  main.replaceChildren();
  const form = el("form", { class: "signin", "aria-label": "Sign in" }, [
    el("h1", {}, ["Sign in"]),
    el("p", { class: "muted" }, [
      "The same token as for the gRPC API (AUTH_TOKENS_FILE).",
    ]),
    why ? el("p", { class: "error", role: "alert" }, [why]) : "",
    el("label", { for: "token" }, ["Token"]),
    el("input", {
      id: "token",
      name: "token",
      type: "password",
      autocomplete: "off",
      required: "",
    }),
    el("button", { class: "primary", type: "submit" }, ["Sign in"]),
  ]);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ (form.querySelector("#token"));
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    route();
  });
  main.append(form);
  /** @type {HTMLInputElement} */ (form.querySelector("#token")).focus();
}

/**
 * Creates an element.
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** @type {AbortController | undefined} */
let current;

/** Who is signed in. @typedef {{authenticated: boolean, message?: string, name: string, role: string, open: boolean, standby?: string}} Me */
/** @type {Me | undefined} */
export let me;

/** Renders the page of the current path. */
export async function route() {
  current?.abort();
  const ctl = new AbortController();
  current = ctl;
  const main = /** @type {HTMLElement} */ (document.getElementById("main"));
  /** @type {Me} */
  let who0;
  try {
    who0 = me = await api("/api/me");
    if (!me?.authenticated) return signIn(token() ? me?.message : "");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    main.replaceChildren(
      el("p", { class: "error", role: "alert" }, [String(err)]),
    );
    return;
  }
  const who = /** @type {HTMLElement} */ (document.getElementById("who"));
  who.replaceChildren(
    who0.open ? "open access (no sign-in configured)" : `${who0.name} (${who0.role})`,
  );
  if (!who0.open) {
    const out = el("button", { type: "button" }, ["Sign out"]);
    out.addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      who.replaceChildren();
      signIn("");
    });
    who.append(" ", out);
  }
  // A standby (leader election) shows workers but not pipelines, and changes nothing: it says so.
  const banner = /** @type {HTMLElement} */ (document.getElementById("standby"));
  banner.hidden = !who0.standby;
  banner.textContent = who0.standby ?? "";
  const path = location.pathname;
  shown = path;
  const ctx = { main, signal: ctl.signal, operator: who0.role === "operator" };
  main.replaceChildren();
  let m;
  if ((m = path.match(/^\/workers\/([^/]+)$/))) {
    renderWorker(ctx, decodeURIComponent(m[1]));
  } else if ((m = path.match(/^\/pipelines\/([^/]+)$/))) {
    renderPipeline(ctx, decodeURIComponent(m[1]));
  } else if (path === "/events") renderEvents(ctx);
  else renderOverview(ctx);
}

// Links inside the app navigate without a reload (and keep the streams of one page only).
document.addEventListener("click", (e) => {
  const a = /** @type {HTMLElement} */ (e.target).closest?.("a");
  if (
    !a || a.origin !== location.origin || e.ctrlKey || e.metaKey ||
    a.hasAttribute("download")
  ) {
    return;
  }
  if (a.pathname === location.pathname && a.hash) return;
  e.preventDefault();
  history.pushState(null, "", a.href);
  route();
});
// Back and forward re-render, but a change of the hash alone (`#L120`) stays on the page.
let shown = location.pathname;
addEventListener("popstate", () => {
  if (location.pathname !== shown) route();
});
route();
