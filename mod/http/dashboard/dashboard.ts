/**
 * The live web dashboard, served on the HTTP port by the same process as the gRPC API.
 *
 * | path                                          | answers                                        |
 * | --------------------------------------------- | ---------------------------------------------- |
 * | `/`, `/workers/<id>`, `/pipelines/<id>`, `/events` | the page (the client renders the path)     |
 * | `/assets/<file>`                              | the embedded JavaScript and CSS                |
 * | `GET /api/me`                                 | who the token is (name, role, open, standby), or not signed in |
 * | `GET /api/pipelines`                          | every pipeline's shape and state               |
 * | `GET /api/stream/workers`                     | SSE: every worker's state, then each change    |
 * | `GET /api/stream/pipelines`                   | SSE: every pipeline, then new ones and transitions |
 * | `GET /api/stream/events[?task=]`              | SSE: worker events (the timeline)              |
 * | `GET /api/stream/logs/<worker>`               | SSE: the worker's log, `id:` = line sequence   |
 * | `GET /api/stream/pipelines/<id>`              | SSE: the pipeline's shape, then transitions    |
 * | `POST /api/pipelines/<id>/cancel`             | CancelPipeline (operator)                      |
 * | `POST /api/pipelines/<id>/stages/<id>/approval` | ApproveStage, `{approved, comment}` (operator) |
 *
 * Every `/api/` path takes the same bearer tokens and roles as the gRPC API (see access.ts);
 * the buttons call the same executor methods as the gRPC handlers. On a standby (leader election,
 * not the leader) the pipelines are not loaded: their paths answer 503 naming the leader, as the
 * gRPC API answers UNAVAILABLE, before anything is looked up or changed. Anything else: undefined
 * (the HTTP server answers it, or 404).
 *
 * @module
 */

import type { Authenticator } from "../../grpc/auth/authenticator.ts";
import { assertLeader, type Leadership, NotLeaderError } from "../../kube/leader.ts";
import { PipelineNotFoundError, StageNotWaitingError } from "../../pipeline/executor.ts";
import type { PipelineExecutor } from "../../pipeline/executor.ts";
import type { Logger } from "../../telemetry/logger.ts";
import { ValidationError } from "../../worker/errors.ts";
import { type Runtime, WorkerNotFoundError } from "../../worker/types.ts";
import { validateTaskId } from "../../worker/validate.ts";
import { type Action, authorize } from "./access.ts";
import { ASSETS, PAGE } from "./assets.ts";
import { sseResponse } from "./sse.ts";
import {
  logEvents,
  pipelineEvents,
  pipelinesEvents,
  pipelineView,
  workerEvents,
  workerStates,
} from "./streams.ts";

/** What the dashboard reads and acts on. */
export interface DashboardDeps {
  /** The workers. */
  readonly runtime: Runtime;
  /** The pipelines. */
  readonly pipelines: PipelineExecutor;
  /** The gRPC API's authenticator. */
  readonly auth: Authenticator;
  /** The logger. */
  readonly logger: Logger;
  /** Whether this instance leads (leader election); absent: always. A standby shows no pipelines. */
  readonly leadership?: Leadership;
  /** Aborted when the server shuts down: every event stream ends then. */
  readonly closing?: AbortSignal;
}

/** Answers a dashboard request, or undefined when the path is not the dashboard's. */
export type DashboardHandler = (
  request: Request,
) => Promise<Response | undefined>;

const PAGES = [
  /^\/$/,
  /^\/events$/,
  /^\/workers\/[^/]+$/,
  /^\/pipelines\/[^/]+$/,
];
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Builds the handler; see the module doc. */
export function dashboard(deps: DashboardDeps): DashboardHandler {
  const log = deps.logger.with({ component: "dashboard" });
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (request.method === "GET" || request.method === "HEAD") {
      if (PAGES.some((p) => p.test(path))) {
        return new Response(PAGE.body, {
          headers: {
            "content-type": PAGE.type,
            "cache-control": "no-cache",
            ...SECURITY_HEADERS,
          },
        });
      }
      const asset = path.startsWith("/assets/") ? ASSETS.get(path.slice(8)) : undefined;
      if (asset) {
        return new Response(asset.body, {
          headers: {
            "content-type": asset.type,
            "cache-control": "no-cache",
            ...SECURITY_HEADERS,
          },
        });
      }
    }
    if (!path.startsWith("/api/")) return undefined;
    try {
      return await api(deps, request, path, log);
    } catch (err) {
      return errorResponse(err, log);
    }
  };
}

async function api(
  deps: DashboardDeps,
  request: Request,
  path: string,
  log: Logger,
): Promise<Response> {
  const parts = path.slice(5).split("/").map(decodeURIComponent);
  const post = request.method === "POST";
  const action: Action = !post ? "view" : parts.at(-1) === "cancel" ? "cancel" : "approve";
  if (!post && request.method !== "GET") {
    return Response.json({ error: "method not allowed" }, { status: 405 });
  }
  const access = await authorize(deps.auth, request, action);
  // The page asks who it is before anything else: "not signed in" is an answer there (the page
  // shows the sign-in form), not a failed request.
  if (
    access.refusal && !post && path === "/api/me" &&
    access.refusal.status === 401
  ) {
    const { message } = await access.refusal.json();
    return Response.json({ authenticated: false, message });
  }
  if (access.refusal) return access.refusal;
  const caller = access.caller;
  const url = new URL(request.url);

  if (!post && parts.length === 1 && parts[0] === "me") {
    const leadership = deps.leadership;
    return Response.json({
      authenticated: true,
      name: caller.name,
      role: caller.role,
      open: caller.via === "none",
      // What a standby tells: the page shows it on every page.
      standby: leadership && !leadership.isLeader()
        ? new NotLeaderError(leadership.leader()).message
        : "",
    });
  }
  // A standby has not loaded the pipelines and may not change them: it says so, naming the
  // leader (503), before anything is looked up.
  if (parts[0] === "pipelines" || (parts[0] === "stream" && parts[1] === "pipelines")) {
    assertLeader(deps.leadership);
  }
  if (!post && parts.length === 1 && parts[0] === "pipelines") {
    return Response.json(deps.pipelines.list().map(pipelineView));
  }
  if (
    !post && parts[0] === "stream" && parts.length === 2 &&
    parts[1] === "workers"
  ) {
    return sseResponse((signal) => workerStates(deps.runtime, signal), deps.closing);
  }
  if (
    !post && parts[0] === "stream" && parts.length === 2 &&
    parts[1] === "pipelines"
  ) {
    return sseResponse((signal) => pipelinesEvents(deps.pipelines, signal), deps.closing);
  }
  if (
    !post && parts[0] === "stream" && parts.length === 2 &&
    parts[1] === "events"
  ) {
    const task = url.searchParams.get("task") || undefined;
    if (task !== undefined) validateTaskId(task, "task");
    return sseResponse((signal) => workerEvents(deps.runtime, task, signal), deps.closing);
  }
  if (
    !post && parts[0] === "stream" && parts.length === 3 && parts[1] === "logs"
  ) {
    const id = parts[2];
    if (!deps.runtime.list().some((w) => w.id === id)) {
      throw new WorkerNotFoundError(id);
    }
    const after = resumePoint(request);
    return sseResponse((signal) => logEvents(deps.runtime, id, after, signal), deps.closing);
  }
  if (
    !post && parts[0] === "stream" && parts.length === 3 &&
    parts[1] === "pipelines"
  ) {
    const run = deps.pipelines.get(parts[2]);
    if (!run) throw new PipelineNotFoundError(parts[2]);
    return sseResponse((signal) => pipelineEvents(run, signal), deps.closing);
  }
  if (
    post && parts[0] === "pipelines" && parts.length === 3 &&
    parts[2] === "cancel"
  ) {
    const id = validateTaskId(parts[1], "pipeline_id");
    if (!deps.pipelines.get(id)) throw new PipelineNotFoundError(id);
    const cancelled = await deps.pipelines.cancel(id);
    log.info("pipeline cancel", {
      pipeline: id,
      cancelled,
      caller: caller.name,
    });
    return Response.json({
      cancelled,
      message: cancelled ? `pipeline ${id} cancelled` : `pipeline ${id} had already finished`,
    });
  }
  if (
    post && parts[0] === "pipelines" && parts.length === 5 &&
    parts[2] === "stages" &&
    parts[4] === "approval"
  ) {
    const id = validateTaskId(parts[1], "pipeline_id");
    const body = await readJson(request);
    if (typeof body.approved !== "boolean") {
      throw new ValidationError("approved", "must be true or false");
    }
    const comment = body.comment === undefined ? "" : body.comment;
    if (typeof comment !== "string") {
      throw new ValidationError("comment", "must be a string");
    }
    const status = await deps.pipelines.approve(id, parts[3], {
      approved: body.approved,
      approver: caller.name.slice(0, 256),
      comment: comment.slice(0, 1024),
    });
    const verb = body.approved ? "approved" : "rejected";
    return Response.json({
      status,
      message: `stage ${parts[3]} of pipeline ${id} ${verb}`,
    });
  }
  return Response.json({
    error: "NOT_FOUND",
    message: `no such API path: ${path}`,
  }, {
    status: 404,
  });
}

/** The sequence a reconnect resumes after: Last-Event-ID (header or `?after=`), else 0. */
function resumePoint(request: Request): number {
  const raw = request.headers.get("last-event-id") ??
    new URL(request.url).searchParams.get("after") ?? "0";
  if (!/^\d{1,15}$/.test(raw)) {
    throw new ValidationError(
      "Last-Event-ID",
      `must be a line sequence (a whole number), got "${raw}"`,
    );
  }
  return Number(raw);
}

async function readJson(request: Request): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new ValidationError("body", "must be a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("body", "must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function errorResponse(err: unknown, log: Logger): Response {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ValidationError) {
    return Response.json({ error: "INVALID_ARGUMENT", message }, {
      status: 400,
    });
  }
  if (
    err instanceof PipelineNotFoundError || err instanceof WorkerNotFoundError
  ) {
    return Response.json({ error: "NOT_FOUND", message }, { status: 404 });
  }
  if (err instanceof NotLeaderError) {
    return Response.json({ error: "UNAVAILABLE", message }, {
      status: 503,
      headers: { "retry-after": "2" },
    });
  }
  if (err instanceof StageNotWaitingError) {
    return Response.json({ error: "FAILED_PRECONDITION", message }, {
      status: 409,
    });
  }
  log.error("dashboard request failed", { err });
  return Response.json({ error: "INTERNAL", message }, { status: 500 });
}
