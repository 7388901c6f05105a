/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
// @ts-check
// The dashboard's overview and events timeline (a worker's log: log_view.js; a pipeline:
// pipeline_view.js). Each page streams while it is shown and stops when `ctx.signal` aborts.

import { api, el, stream } from "./app.js";

/** What a page gets: where to render, when to stop, whether to offer actions. @typedef {{ main: HTMLElement, signal: AbortSignal, operator: boolean }} Ctx */

const PHASES = ["pending", "running", "succeeded", "failed"];

/** @param {string} iso */
export function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : "";
}

/** @param {HTMLElement} node @returns {(state: string) => void} */
export function stateInto(node) {
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
