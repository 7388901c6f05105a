/**
 * The dashboard's browser files, embedded in the executable as text (nothing is fetched at run
 * time, from a CDN or anywhere else).
 *
 * @module
 */

import html from "./assets/index.html" with { type: "text" };
import app from "./assets/app.js" with { type: "text" };
import views from "./assets/views.js" with { type: "text" };
import logView from "./assets/log_view.js" with { type: "text" };
import pipelineView from "./assets/pipeline_view.js" with { type: "text" };
import style from "./assets/style.css" with { type: "text" };

/** One embedded file: its content type and text. */
export interface Asset {
  /** The `content-type` it is served with. */
  readonly type: string;
  /** Its text. */
  readonly body: string;
}

/** The page every dashboard path serves (the client renders the path). */
export const PAGE: Asset = { type: "text/html; charset=utf-8", body: html };

/** The files under `/assets/`, by name. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["app.js", { type: "text/javascript; charset=utf-8", body: app }],
  ["views.js", { type: "text/javascript; charset=utf-8", body: views }],
  ["log_view.js", { type: "text/javascript; charset=utf-8", body: logView }],
  ["pipeline_view.js", { type: "text/javascript; charset=utf-8", body: pipelineView }],
  ["style.css", { type: "text/css; charset=utf-8", body: style }],
]);
