/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
// @ts-check
// A worker's log, live, in a virtual list: only the rows near the view are in the document, so a
// worker with 100,000 lines stays smooth; at most KEEP lines are held.

import { el, stream } from "./app.js";
import { stateInto } from "./views.js";

/** @typedef {import("./views.js").Ctx} Ctx */

const ROW = 18;
const KEEP = 200_000;

/**
 * ANSI SGR colours and bold as spans; other escape sequences are dropped.
 * @param {string} text @param {string} [query]
 * @returns {(Node | string)[]}
 */
export function ansi(text, query) {
  /** @type {(Node | string)[]} */
  const out = [];
  /** @type {string[]} */
  let classes = [];
  const push = (/** @type {string} */ s) => {
    if (!s) return;
    /** @type {(Node | string)[]} */
    let parts = [s];
    if (query) {
      parts = [];
      let i = 0, j;
      const lower = s.toLowerCase(), q = query.toLowerCase();
      while ((j = lower.indexOf(q, i)) >= 0) {
        parts.push(s.slice(i, j), el("mark", {}, [s.slice(j, j + q.length)]));
        i = j + q.length;
      }
      parts.push(s.slice(i));
    }
    if (classes.length) {
      out.push(el("span", { class: classes.join(" ") }, parts));
    } else out.push(...parts);
  };
  // deno-lint-ignore no-control-regex -- ESC starts the escape sequences this parses
  const re = /\x1b\[([0-9;]*)([A-Za-z])/g;
  let last = 0, m;
  while ((m = re.exec(text))) {
    push(text.slice(last, m.index));
    last = re.lastIndex;
    if (m[2] !== "m") continue;
    for (const code of (m[1] || "0").split(";").map(Number)) {
      if (code === 0) classes = [];
      else if (code === 1) classes.push("a-b");
      else if (code >= 30 && code <= 37) {
        classes = [...classes.filter((c) => c === "a-b"), `a-${code}`];
      } else if (code >= 90 && code <= 97) {
        classes = [
          ...classes.filter((c) => c === "a-b"),
          `a-${code - 60}`,
          "a-b",
        ];
      } else if (code === 39) classes = classes.filter((c) => c === "a-b");
    }
  }
  push(text.slice(last));
  return out;
}

/** A worker's log, live, in a virtual list. @param {Ctx} ctx @param {string} id */
export function renderWorker(ctx, id) {
  const live = el("span", { class: "muted", "aria-live": "polite" });
  const count = el("span", { class: "muted", id: "count" });
  const follow = el("button", {
    type: "button",
    "aria-pressed": "true",
    id: "follow",
  }, ["Pause"]);
  const search = /** @type {HTMLInputElement} */ (el("input", {
    type: "search",
    placeholder: "search (Enter: next)",
    "aria-label": "Search the log",
  }));
  const download = el("button", { type: "button", id: "download" }, ["Download"]);
  const box = el("div", {
    class: "log",
    id: "log",
    tabindex: "0",
    role: "log",
    "aria-label": `Log of ${id}`,
  });
  const spacer = el("div", {});
  const rows = el("div", { class: "rows" });
  box.append(spacer, rows);
  ctx.main.append(
    el("h1", {}, [`Worker ${id} `, live]),
    el("div", { class: "toolbar" }, [follow, search, download, count]),
    box,
  );
  /** @type {number[]} */ const nums = [];
  /** @type {string[]} */ const srcs = [];
  /** @type {string[]} */ const msgs = [];
  let following = true;
  let query = "";
  let target = Number(location.hash.match(/^#L(\d+)$/)?.[1] ?? 0);
  if (target) following = false;
  const setFollow = (/** @type {boolean} */ on) => {
    following = on;
    follow.setAttribute("aria-pressed", String(on));
    follow.textContent = on ? "Pause" : "Follow";
    if (on) box.scrollTop = box.scrollHeight;
  };
  setFollow(following);
  let frame = 0;
  const draw = () => {
    frame = 0;
    spacer.style.height = `${nums.length * ROW}px`;
    if (following) box.scrollTop = box.scrollHeight;
    const first = Math.max(0, Math.floor(box.scrollTop / ROW) - 20);
    const last = Math.min(
      nums.length,
      first + Math.ceil(box.clientHeight / ROW) + 40,
    );
    rows.style.top = `${first * ROW}px`;
    const out = [];
    for (let i = first; i < last; i++) {
      const n = nums[i];
      out.push(el("div", {
        class: `row ${srcs[i]}${n === target ? " target" : ""}`,
        id: `L${n}`,
        "data-n": String(n),
      }, [
        el("a", { class: "n", href: `#L${n}`, tabindex: "-1" }, [String(n)]),
        el("span", { class: "src" }, [
          srcs[i] === "stderr" ? "err" : srcs[i] === "agent" ? "agt" : "",
        ]),
        el("span", { class: "m" }, ansi(msgs[i], query)),
      ]));
    }
    rows.replaceChildren(...out);
    count.textContent = `${nums.at(-1) ?? 0} lines`;
  };
  const schedule = () => {
    frame ||= requestAnimationFrame(draw);
  };
  const jump = (/** @type {number} */ index) => {
    setFollow(false);
    box.scrollTop = Math.max(0, index * ROW - box.clientHeight / 2);
    schedule();
  };
  box.addEventListener("scroll", schedule);
  follow.addEventListener("click", () => setFollow(!following));
  addEventListener("hashchange", () => {
    target = Number(location.hash.match(/^#L(\d+)$/)?.[1] ?? 0);
    const i = nums.indexOf(target);
    if (i >= 0) jump(i);
  }, { signal: ctx.signal });
  let searchFrom = 0;
  search.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    query = search.value;
    if (!query) return schedule();
    const q = query.toLowerCase();
    for (let k = 0; k < msgs.length; k++) {
      const i = (searchFrom + k) % msgs.length;
      if (msgs[i].toLowerCase().includes(q)) {
        searchFrom = i + 1;
        return jump(i);
      }
    }
    schedule();
  });
  download.addEventListener("click", () => {
    const text = msgs.map((m, i) => `${nums[i]}\t${srcs[i]}\t${m}`).join("\n") +
      "\n";
    const a = /** @type {HTMLAnchorElement} */ (el("a", {
      href: URL.createObjectURL(new Blob([text], { type: "text/plain" })),
      download: `${id}.log`,
    }));
    a.click();
    // Released once the browser surely has it (a busy machine may take its time to start).
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  });
  stream(`/api/stream/logs/${encodeURIComponent(id)}`, (event, line) => {
    if (event !== "line") return;
    // A reconnect resumes after the last id: a line already shown is never added again.
    if (nums.length && line.n <= nums[nums.length - 1]) return;
    nums.push(line.n);
    srcs.push(line.s);
    msgs.push(line.m);
    if (nums.length > KEEP) {
      nums.splice(0, nums.length - KEEP);
      srcs.splice(0, srcs.length - KEEP);
      msgs.splice(0, msgs.length - KEEP);
    }
    if (target && line.n === target) jump(nums.length - 1);
    schedule();
  }, { signal: ctx.signal, onState: stateInto(live) });
}
