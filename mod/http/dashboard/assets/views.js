/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
// @ts-check
// The dashboard's pages: the overview, a worker's log (a virtual list), a pipeline's graph and
// the events timeline. Each page streams while it is shown and stops when `ctx.signal` aborts.

import { api, el, stream } from "./app.js";

/** @typedef {{ main: HTMLElement, signal: AbortSignal, operator: boolean }} Ctx */

const PHASES = ["pending", "running", "succeeded", "failed"];

/** @param {string} iso */
function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : "";
}

/** @param {HTMLElement} node @returns {(state: string) => void} */
function stateInto(node) {
  return (s) => node.replaceChildren(s === "live" ? "● live" : s);
}

/** The overview: workers (live) and pipelines. @param {Ctx} ctx */
export function renderOverview(ctx) {
  const live = el("span", { class: "muted", "aria-live": "polite" });
  const task = /** @type {HTMLInputElement} */ (el("input", {
    type: "search",
    placeholder: "task",
    "aria-label": "Filter by task",
  }));
  const phase = /** @type {HTMLSelectElement} */ (el("select", {
    "aria-label": "Filter by phase",
  }, [
    el("option", { value: "" }, ["any phase"]),
    ...PHASES.map((p) => el("option", { value: p }, [p])),
  ]));
  const body = el("tbody");
  const pipes = el("tbody");
  ctx.main.append(
    el("h1", {}, ["Workers ", live]),
    el("div", { class: "filters" }, [task, phase]),
    el("div", { class: "scroll" }, [el("table", { id: "workers" }, [
      el("thead", {}, [
        el(
          "tr",
          {},
          ["Worker", "Task", "Phase", "Reason", "Node", "Started", "Ended"]
            .map((h) => el("th", { scope: "col" }, [h])),
        ),
      ]),
      body,
    ])]),
    el("h2", {}, ["Pipelines"]),
    el("div", { class: "scroll" }, [el("table", { id: "pipelines" }, [
      el("thead", {}, [
        el("tr", {}, ["Pipeline", "Stages"].map((h) => el("th", {}, [h]))),
      ]),
      pipes,
    ])]),
  );
  /** @type {Map<string, any>} */
  const workers = new Map();
  const draw = () => {
    const t = task.value.trim(), p = phase.value;
    const rows = [...workers.values()]
      .filter((w) => (!t || w.taskId.includes(t)) && (!p || w.phase === p))
      .sort((a, b) => a.taskId.localeCompare(b.taskId) || a.index - b.index);
    body.replaceChildren(...rows.map((w) =>
      el("tr", { "data-worker": w.id }, [
        el("td", {}, [
          el("a", { href: `/workers/${encodeURIComponent(w.id)}` }, [w.id]),
        ]),
        el("td", {}, [w.taskId]),
        el("td", { class: `phase phase-${w.phase}` }, [w.phase]),
        el("td", {}, [w.reason]),
        el("td", {}, [w.node]),
        el("td", {}, [time(w.startedAt)]),
        el("td", {}, [time(w.finishedAt)]),
      ])
    ));
  };
  task.addEventListener("input", draw);
  phase.addEventListener("change", draw);
  stream("/api/stream/workers", (event, w) => {
    if (event !== "worker") return;
    workers.set(w.id, w);
    draw();
  }, { signal: ctx.signal, onState: stateInto(live) });
  const loadPipelines = async () => {
    const list = await api("/api/pipelines").catch(() => undefined);
    if (!list) return;
    pipes.replaceChildren(...list.map((/** @type {any} */ p) =>
      el("tr", {}, [
        el("td", {}, [
          el("a", { href: `/pipelines/${encodeURIComponent(p.id)}` }, [p.id]),
        ]),
        el(
          "td",
          {},
          p.progress.map((/** @type {any} */ s) =>
            el("span", { class: `status status-${s.status}` }, [
              `${s.stageId} `,
            ])
          ),
        ),
      ])
    ));
  };
  loadPipelines();
  const timer = setInterval(loadPipelines, 2000);
  ctx.signal.addEventListener("abort", () => clearInterval(timer));
}

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
  const download = el("button", { type: "button" }, ["Download"]);
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
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
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

/**
 * Layers a DAG: each stage's column is the longest path to it.
 * @param {{ id: string, dependsOn: string[] }[]} stages
 * @returns {Map<string, { x: number, y: number }>}
 */
function layout(stages) {
  /** @type {Map<string, number>} */
  const depth = new Map();
  /** @type {(id: string) => number} */
  const d = (id) => {
    if (depth.has(id)) return /** @type {number} */ (depth.get(id));
    const s = stages.find((x) => x.id === id);
    /** @type {number} */
    const v = s && s.dependsOn.length ? 1 + Math.max(...s.dependsOn.map(d)) : 0;
    depth.set(id, v);
    return v;
  };
  /** @type {Map<string, { x: number, y: number }>} */
  const at = new Map();
  /** @type {number[]} */
  const rowsUsed = [];
  for (const s of stages) {
    const col = d(s.id);
    const row = rowsUsed[col] ?? 0;
    rowsUsed[col] = row + 1;
    at.set(s.id, { x: 10 + col * 210, y: 10 + row * 80 });
  }
  return at;
}

const SVG = "http://www.w3.org/2000/svg";
/** @param {string} tag @param {Record<string, string | number>} attrs @param {Node[]} [kids] */
function svg(tag, attrs, kids = []) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  n.append(...kids);
  return n;
}

/** A pipeline: its graph, stages, and the operator's buttons. @param {Ctx} ctx @param {string} id */
export function renderPipeline(ctx, id) {
  const live = el("span", { class: "muted", "aria-live": "polite" });
  const graph = el("div", { id: "dag" });
  const actions = el("div", { class: "toolbar", id: "actions" });
  const note = el("p", { role: "status", id: "note" });
  const table = el("tbody");
  ctx.main.append(
    el("h1", {}, [`Pipeline ${id} `, live]),
    actions,
    note,
    graph,
    el("div", { class: "scroll" }, [el("table", { id: "stages" }, [
      el("thead", {}, [
        el(
          "tr",
          {},
          [
            "Stage",
            "Type",
            "Status",
            "Attempt",
            "Duration",
            "Workers",
            "Message",
          ]
            .map((h) => el("th", { scope: "col" }, [h])),
        ),
      ]),
      table,
    ])]),
  );
  /** @type {any} */
  let shape;
  /** @type {Map<string, any>} */
  const stages = new Map();
  const act = async (
    /** @type {string} */ path,
    /** @type {any} */ body = {},
  ) => {
    try {
      const r = await api(path, {
        method: "POST",
        body: JSON.stringify(body ?? {}),
      });
      note.textContent = r.message;
    } catch (err) {
      note.textContent = String(/** @type {Error} */ (err).message);
    }
  };
  const draw = () => {
    if (!shape) return;
    const at = layout(shape.stages);
    const w = Math.max(...[...at.values()].map((p) => p.x)) + 200;
    const h = Math.max(...[...at.values()].map((p) => p.y)) + 70;
    const edges = shape.stages.flatMap((/** @type {any} */ s) =>
      s.dependsOn.map((/** @type {string} */ dep) => {
        const a = /** @type {{x: number, y: number}} */ (at.get(dep));
        const b = /** @type {{x: number, y: number}} */ (at.get(s.id));
        const x1 = a.x + 180, y1 = a.y + 28, x2 = b.x, y2 = b.y + 28;
        return svg("path", {
          class: "edge",
          d: `M${x1},${y1} C${x1 + 15},${y1} ${x2 - 15},${y2} ${x2},${y2}`,
        });
      })
    );
    const nodes = shape.stages.map((/** @type {any} */ s) => {
      const p = /** @type {{x: number, y: number}} */ (at.get(s.id));
      const st = stages.get(s.id);
      const status = st?.status ?? "STAGE_PENDING";
      const waiting = s.type === "approval" && status === "STAGE_RUNNING";
      return svg("g", {
        class: `node st-${waiting ? "STAGE_WAITING_APPROVAL" : status}`,
        transform: `translate(${p.x},${p.y})`,
        "data-stage": s.id,
      }, [
        svg("title", {}, [document.createTextNode(`${s.id}: ${status}`)]),
        svg("rect", { width: 180, height: 56, rx: 8 }),
        svg("text", { x: 10, y: 22, "font-weight": 600 }, [
          document.createTextNode(s.id),
        ]),
        svg("text", { x: 10, y: 42 }, [
          document.createTextNode(
            waiting ? "waiting for approval" : status.replace("STAGE_", "").toLowerCase(),
          ),
        ]),
      ]);
    });
    graph.replaceChildren(svg("svg", {
      class: "dag",
      viewBox: `0 0 ${w} ${h}`,
      role: "img",
      "aria-label": `Graph of pipeline ${id}`,
    }, [...edges, ...nodes]));
    table.replaceChildren(...shape.stages.map((/** @type {any} */ s) => {
      const st = stages.get(s.id) ?? {};
      return el("tr", { "data-stage": s.id }, [
        el("td", {}, [s.id]),
        el("td", {}, [s.type]),
        el("td", { class: `status status-${st.status}` }, [
          (st.status ?? "").replace("STAGE_", ""),
        ]),
        el("td", {}, [`${st.attempt ?? ""}`]),
        el("td", {}, [st.startedAt ? `${st.durationSeconds}s` : ""]),
        el(
          "td",
          {},
          (st.workers ?? []).flatMap((/** @type {string} */ wid) => [
            el("a", { href: `/workers/${encodeURIComponent(wid)}` }, [wid]),
            " ",
          ]),
        ),
        el("td", {}, [st.errorMessage || st.message || ""]),
      ]);
    }));
    const buttons = [];
    if (ctx.operator) {
      for (const s of shape.stages) {
        if (
          s.type !== "approval" || stages.get(s.id)?.status !== "STAGE_RUNNING"
        ) continue;
        const ok = el("button", { class: "primary", type: "button" }, [
          `Approve ${s.id}`,
        ]);
        const no = el("button", { class: "danger", type: "button" }, [
          `Reject ${s.id}`,
        ]);
        const path = `/api/pipelines/${encodeURIComponent(id)}/stages/${
          encodeURIComponent(s.id)
        }/approval`;
        ok.addEventListener("click", () => act(path, { approved: true }));
        no.addEventListener(
          "click",
          () =>
            act(path, {
              approved: false,
              comment: "rejected in the dashboard",
            }),
        );
        buttons.push(ok, no);
      }
      const done = shape.stages.every((/** @type {any} */ s) =>
        ["STAGE_COMPLETED", "STAGE_FAILED", "STAGE_CANCELLED", "STAGE_SKIPPED"]
          .includes(stages.get(s.id)?.status)
      );
      if (!done) {
        const cancel = el("button", {
          class: "danger",
          type: "button",
          id: "cancel",
        }, [
          "Cancel pipeline",
        ]);
        cancel.addEventListener(
          "click",
          () => act(`/api/pipelines/${encodeURIComponent(id)}/cancel`),
        );
        buttons.push(cancel);
      }
    }
    actions.replaceChildren(...buttons);
  };
  stream(`/api/stream/pipelines/${encodeURIComponent(id)}`, (event, data) => {
    if (event === "pipeline") {
      shape = data;
      for (const p of data.progress) stages.set(p.stageId, p);
    } else if (event === "stage") stages.set(data.stageId, data);
    draw();
  }, { signal: ctx.signal, onState: stateInto(live) });
}

/** The state-change timeline. @param {Ctx} ctx */
export function renderEvents(ctx) {
  const live = el("span", { class: "muted", "aria-live": "polite" });
  const body = el("tbody");
  ctx.main.append(
    el("h1", {}, ["Events ", live]),
    el("div", { class: "scroll" }, [el("table", { id: "events" }, [
      el("thead", {}, [el(
        "tr",
        {},
        ["Time", "Worker", "Task", "Event", "Reason", "Node"]
          .map((h) => el("th", { scope: "col" }, [h])),
      )]),
      body,
    ])]),
  );
  /** @type {Set<string>} */
  const seen = new Set();
  stream("/api/stream/events", (event, e, id) => {
    // After a reconnect the history is sent again; an event already shown is not added twice.
    if (event !== "event" || !id || seen.has(id)) return;
    seen.add(id);
    body.prepend(el("tr", { "data-event": id }, [
      el("td", {}, [time(e.timestamp)]),
      el("td", {}, [
        el("a", { href: `/workers/${encodeURIComponent(e.workerId)}` }, [
          e.workerId,
        ]),
      ]),
      el("td", {}, [e.taskId]),
      el("td", { class: `ev-${e.type}` }, [e.type]),
      el("td", {}, [e.reason]),
      el("td", {}, [e.node]),
    ]));
  }, { signal: ctx.signal, onState: stateInto(live) });
}
