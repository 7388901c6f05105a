/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
// @ts-check
// The dashboard's overview and events timeline (a worker's log: log_view.js; a pipeline:
// pipeline_view.js). Each page streams while it is shown and stops when `ctx.signal` aborts.

import { el, stream } from "./app.js";

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

/**
 * The overview: workers and pipelines, both live, filtered by task, phase and tenant (the filters
 * are kept in the address, so a filtered view can be linked). Both streams start with the whole
 * list, which replaces what is shown: after a reconnect nothing is missing and nothing twice.
 * @param {Ctx} ctx
 */
export function renderOverview(ctx) {
  const live = el("span", { class: "muted", "aria-live": "polite" });
  const pipesLive = el("span", { class: "muted", "aria-live": "polite" });
  const params = new URLSearchParams(location.search);
  const task = /** @type {HTMLInputElement} */ (el("input", {
    type: "search",
    id: "filter-task",
    placeholder: "task",
    "aria-label": "Filter by task",
  }));
  task.value = params.get("task") ?? "";
  const phase = /** @type {HTMLSelectElement} */ (el("select", {
    id: "filter-phase",
    "aria-label": "Filter by phase",
  }, [
    el("option", { value: "" }, ["any phase"]),
    ...PHASES.map((p) => el("option", { value: p }, [p])),
  ]));
  phase.value = params.get("phase") ?? "";
  const tenant = /** @type {HTMLSelectElement} */ (el("select", {
    id: "filter-tenant",
    "aria-label": "Filter by tenant",
  }));
  const body = el("tbody");
  const pipes = el("tbody");
  ctx.main.append(
    el("h1", {}, ["Workers ", live]),
    el("div", { class: "filters" }, [task, phase, tenant]),
    el("div", { class: "scroll" }, [el("table", { id: "workers" }, [
      el("thead", {}, [
        el(
          "tr",
          {},
          ["Worker", "Task", "Tenant", "Phase", "Reason", "Node", "Started", "Ended"]
            .map((h) => el("th", { scope: "col" }, [h])),
        ),
      ]),
      body,
    ])]),
    el("h2", {}, ["Pipelines ", pipesLive]),
    el("div", { class: "scroll" }, [el("table", { id: "pipelines" }, [
      el("thead", {}, [
        el(
          "tr",
          {},
          ["Pipeline", "Tenant", "Stages"].map((h) => el("th", { scope: "col" }, [h])),
        ),
      ]),
      pipes,
    ])]),
  );
  /** @type {Map<string, any>} */
  const workers = new Map();
  /** @type {Map<string, any>} */
  const pipelines = new Map();
  let wanted = params.get("tenant") ?? "";
  // The tenants offered: every one seen, and the one asked for in the address.
  const tenants = () => {
    const all = new Set([...workers.values(), ...pipelines.values()].map((x) => x.tenant));
    if (wanted) all.add(wanted);
    const names = [...all].sort();
    const shown = [...tenant.options].slice(1).map((o) => o.value);
    if (tenant.options.length === 0 || names.join("\n") !== shown.join("\n")) {
      tenant.replaceChildren(
        el("option", { value: "" }, ["any tenant"]),
        ...names.map((t) => el("option", { value: t }, [t])),
      );
      tenant.value = wanted;
    }
  };
  const draw = () => {
    tenants();
    const t = task.value.trim(), p = phase.value, n = tenant.value;
    const rows = [...workers.values()]
      .filter((w) =>
        (!t || w.taskId.includes(t)) && (!p || w.phase === p) && (!n || w.tenant === n)
      )
      .sort((a, b) => a.taskId.localeCompare(b.taskId) || a.index - b.index);
    body.replaceChildren(...rows.map((w) =>
      el("tr", { "data-worker": w.id }, [
        el("td", {}, [
          el("a", { href: `/workers/${encodeURIComponent(w.id)}` }, [w.id]),
        ]),
        el("td", {}, [w.taskId]),
        el("td", {}, [w.tenant]),
        el("td", { class: `phase phase-${w.phase}` }, [w.phase]),
        el("td", {}, [w.reason]),
        el("td", {}, [w.node]),
        el("td", {}, [time(w.startedAt)]),
        el("td", {}, [time(w.finishedAt)]),
      ])
    ));
    // Pipelines by id (the task filter) and tenant; a phase is a worker's.
    const shown = [...pipelines.values()]
      .filter((x) => (!t || x.id.includes(t)) && (!n || x.tenant === n))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
    pipes.replaceChildren(...shown.map((x) =>
      el("tr", { "data-pipeline": x.id }, [
        el("td", {}, [
          el("a", { href: `/pipelines/${encodeURIComponent(x.id)}` }, [x.id]),
        ]),
        el("td", {}, [x.tenant]),
        el(
          "td",
          {},
          x.progress.map((/** @type {any} */ s) =>
            el("span", {
              class: `status status-${s.status}`,
              "data-stage": s.stageId,
              title: `${s.stageId}: ${s.status.replace("STAGE_", "").toLowerCase()}`,
            }, [`${s.stageId} `])
          ),
        ),
      ])
    ));
  };
  let frame = 0;
  const schedule = () => {
    frame ||= requestAnimationFrame(() => {
      frame = 0;
      draw();
    });
  };
  const filtered = () => {
    wanted = tenant.value;
    const q = new URLSearchParams();
    if (task.value.trim()) q.set("task", task.value.trim());
    if (phase.value) q.set("phase", phase.value);
    if (tenant.value) q.set("tenant", tenant.value);
    const search = q.size ? `?${q}` : "";
    if (search !== location.search) history.replaceState(null, "", `/${search}`);
    draw();
  };
  task.addEventListener("input", filtered);
  phase.addEventListener("change", filtered);
  tenant.addEventListener("change", filtered);
  draw();
  stream("/api/stream/workers", (event, data) => {
    if (event === "workers") {
      workers.clear();
      for (const w of data) workers.set(w.id, w);
    } else if (event === "worker") workers.set(data.id, data);
    else return;
    schedule();
  }, { signal: ctx.signal, onState: stateInto(live) });
  stream("/api/stream/pipelines", (event, data) => {
    if (event === "pipelines") {
      pipelines.clear();
      for (const x of data) pipelines.set(x.id, x);
    } else if (event === "pipeline") pipelines.set(data.id, data);
    else if (event === "stage") {
      const x = pipelines.get(data.pipelineId);
      if (!x) return;
      const i = x.progress.findIndex((/** @type {any} */ s) => s.stageId === data.stageId);
      if (i >= 0) x.progress[i] = data;
    } else return;
    schedule();
  }, { signal: ctx.signal, onState: stateInto(pipesLive) });
  ctx.signal.addEventListener("abort", () => cancelAnimationFrame(frame));
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
