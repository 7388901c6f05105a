/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
// @ts-check
// A pipeline: its stages drawn as a graph (SVG), their states live, and the operator's buttons.

import { api, el, stream } from "./app.js";
import { stateInto } from "./views.js";

/** @typedef {import("./views.js").Ctx} Ctx */

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
    const drawing = /** @type {SVGSVGElement} */ (svg("svg", {
      class: "dag",
      viewBox: `0 0 ${w} ${h}`,
      role: "img",
      "aria-label": `Graph of pipeline ${id}`,
    }, [...edges, ...nodes]));
    // Never drawn larger than its own size (a one-stage pipeline is not a poster). Set through
    // the CSSOM: the page's CSP allows no inline style attribute.
    drawing.style.maxWidth = `${w}px`;
    drawing.style.minWidth = `${Math.min(w, 640)}px`; // on a phone a wide graph scrolls in its box
    graph.replaceChildren(drawing);
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
