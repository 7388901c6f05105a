/**
 * The client commands of the CLI (`scale-up`, `scale-down`, `status`, `logs`, `events`): each
 * parses its flags, calls a running Ottoscaler over gRPC, and prints readable text (or JSON).
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerStatusNotification__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusNotification.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import { connect, unaryCall } from "./client.ts";
import { clientSecurity } from "./credentials.ts";
import {
  approveStage,
  cancelPipeline,
  PipelineFileError,
  readPipelineFile,
  streamPipeline,
  watchPipeline,
} from "./pipeline.ts";
import { eventLine, logLine, statusTable } from "./format.ts";
import { type Command, type Output, UsageError } from "./command.ts";

export { type Command, type Output, UsageError } from "./command.ts";

const SERVER_HELP =
  `  --server ADDR      Ottoscaler's address (default $OTTOSCALER_ADDR or 127.0.0.1:9090)
  --token TOKEN      bearer token sent on every call (default $OTTOSCALER_TOKEN)
  --token-file FILE  read the bearer token from FILE (e.g. a service-account token)
  --tls              dial over TLS (implied by --ca-file, --cert-file); name the server by host
                     name, not IP address, so its certificate can be checked
  --ca-file FILE     PEM CA that signed the server's certificate (default: system roots)
  --cert-file FILE   PEM client certificate (mTLS), with --key-file
  --key-file FILE    PEM private key of --cert-file
  --output FORMAT    text (default) or json
  -h, --help         this help`;

const COMMON = {
  server: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  tls: { type: "boolean" },
  "ca-file": { type: "string" },
  "cert-file": { type: "string" },
  "key-file": { type: "string" },
  output: { type: "string", default: "text" },
  help: { type: "boolean", short: "h" },
} as const;

/** Parsed flag values. */
type Flags = Record<string, string | boolean | string[] | undefined>;

type FlagSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string }
>;

function parse(args: string[], options: FlagSpec): Flags {
  return parseWithPositionals(args, options, false).flags;
}

function parseWithPositionals(
  args: string[],
  options: FlagSpec,
  allowPositionals = true,
): { flags: Flags; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: { ...COMMON, ...options },
      strict: true,
      allowPositionals,
    });
    return { flags: parsed.values as Flags, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function serverAddress(flag: unknown): string {
  return (typeof flag === "string" && flag) || Deno.env.get("OTTOSCALER_ADDR") || "127.0.0.1:9090";
}

function outputFormat(flag: unknown): "text" | "json" {
  if (flag !== "text" && flag !== "json") {
    throw new UsageError(`--output must be text or json, got "${flag}"`);
  }
  return flag;
}

function requireTask(flag: unknown): string {
  if (typeof flag !== "string" || flag === "") throw new UsageError("--task is required");
  return flag;
}

function integerFlag(name: string, flag: unknown, fallback?: number): number {
  if (flag === undefined && fallback !== undefined) return fallback;
  if (typeof flag !== "string" || !/^\d+$/.test(flag)) {
    throw new UsageError(`--${name} must be a whole number, got "${flag ?? ""}"`);
  }
  return Number(flag);
}

/** Connects to the server the flags name, runs `fn`, and closes the connection. */
async function withClient<T>(
  flags: Flags,
  fn: (client: OttoscalerServiceClient) => Promise<T>,
): Promise<T> {
  const address = serverAddress(flags.server);
  const client = connect(address, await clientSecurity(flags, address));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

function printScale(res: ScaleResponse__Output, format: "text" | "json", out: Output): number {
  if (format === "json") out.line(JSON.stringify(res, null, 2));
  else {
    out.line(`${res.status}: ${res.message}`);
    for (const name of res.worker_pod_names) out.line(`  ${name}`);
  }
  return res.status === "FAILED" ? 1 : 0;
}

const scaleUp: Command = {
  name: "scale-up",
  summary: "make sure a task has N workers",
  help: `Usage: ottoscaler scale-up --task T --workers N [--command 'SCRIPT'] [options]

Makes sure task T has N workers (otto-agent-T-1 .. -N). Safe to repeat: existing workers are kept
and a repeat answers ALREADY_PROCESSED.

  --task T           the task id (required)
  --workers N        how many workers (required)
  --command SCRIPT   shell script each worker runs (sh -c); required by the local runtime
  --image IMAGE      container image (Kubernetes runtime; default OTTO_AGENT_IMAGE)
  --timeout SECONDS  stop and fail workers running longer than this
  --env K=V          an environment variable for the workers (repeatable)
  --repository URL   given to workers as OTTO_REPOSITORY
  --commit SHA       given to workers as OTTO_COMMIT_SHA
  --tenant NAME      whose workers these are when they wait for room (default: ottoscaler-cli)
  --priority N       an integer; higher goes first within the tenant when they wait (default 0)
${SERVER_HELP}`,
  async run(args, out) {
    const v = parse(args, {
      task: { type: "string" },
      workers: { type: "string" },
      tenant: { type: "string" },
      priority: { type: "string" },
      command: { type: "string" },
      image: { type: "string" },
      timeout: { type: "string" },
      env: { type: "string", multiple: true },
      repository: { type: "string" },
      commit: { type: "string" },
    });
    if (v.help) return help(this, out);
    const buildConfig: Record<string, string> = {};
    for (const pair of (v.env as string[] | undefined) ?? []) {
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new UsageError(`--env must be KEY=VALUE, got "${pair}"`);
      buildConfig[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    if (typeof v.command === "string") buildConfig.command = v.command;
    if (typeof v.image === "string") buildConfig.image = v.image;
    if (v.timeout !== undefined) {
      buildConfig.timeout_seconds = String(integerFlag("timeout", v.timeout));
    }
    const format = outputFormat(v.output);
    const request = {
      task_id: requireTask(v.task),
      worker_count: integerFlag("workers", v.workers),
      build_config: buildConfig,
      repository: (v.repository as string | undefined) ?? "",
      commit_sha: (v.commit as string | undefined) ?? "",
      triggered_by: "ottoscaler-cli",
      metadata: {
        ...(typeof v.tenant === "string" ? { tenant: v.tenant } : {}),
        ...(typeof v.priority === "string" ? { priority: v.priority } : {}),
      },
    };
    const res = await withClient(
      v,
      (client) =>
        unaryCall<typeof request, ScaleResponse__Output>(client.ScaleUp.bind(client), request),
    );
    return printScale(res, format, out);
  },
};

const scaleDown: Command = {
  name: "scale-down",
  summary: "stop a task's workers beyond a count",
  help: `Usage: ottoscaler scale-down --task T [--workers N]

Makes sure task T has at most N unfinished workers (default 0: stop them all), stopping the
highest indices first. Stopped workers end as TERMINATED.

  --task T           the task id (required)
  --workers N        unfinished workers to keep (default 0)
${SERVER_HELP}`,
  async run(args, out) {
    const v = parse(args, { task: { type: "string" }, workers: { type: "string" } });
    if (v.help) return help(this, out);
    const format = outputFormat(v.output);
    const request = {
      task_id: requireTask(v.task),
      worker_count: integerFlag("workers", v.workers, 0),
      triggered_by: "ottoscaler-cli",
    };
    const res = await withClient(
      v,
      (client) =>
        unaryCall<typeof request, ScaleResponse__Output>(client.ScaleDown.bind(client), request),
    );
    return printScale(res, format, out);
  },
};

const status: Command = {
  name: "status",
  summary: "show workers and their state",
  help: `Usage: ottoscaler status [--task T] [--worker NAME] [--phase PHASE]

Shows workers with their state, times and, for failed ones, why (with the exit code).

  --task T           only this task
  --worker NAME      only this worker
  --phase PHASE      only pending, running, succeeded or failed
${SERVER_HELP}`,
  async run(args, out) {
    const v = parse(args, {
      task: { type: "string" },
      worker: { type: "string" },
      phase: { type: "string" },
    });
    if (v.help) return help(this, out);
    const format = outputFormat(v.output);
    const request = {
      task_id: (v.task as string | undefined) ?? "",
      worker_pod_name: (v.worker as string | undefined) ?? "",
      status_filter: (v.phase as string | undefined) ?? "",
    };
    const res = await withClient(
      v,
      (client) =>
        unaryCall<typeof request, WorkerStatusResponse__Output>(
          client.GetWorkerStatus.bind(client),
          request,
        ),
    );
    out.line(format === "json" ? JSON.stringify(res, null, 2) : statusTable(res));
    return 0;
  },
};

/** Reads a server stream to its end, printing each message; rejects on a stream error. */
function consume<T>(
  stream: NodeJS.ReadableStream & { cancel(): void },
  onMessage: (message: T) => boolean | void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let cancelled = false;
    stream.on("data", (message: T) => {
      if (onMessage(message) === false) {
        cancelled = true;
        stream.cancel();
        resolve();
      }
    });
    stream.on("end", () => resolve());
    stream.on("error", (err: Error) => (cancelled ? resolve() : reject(err)));
  });
}

const logs: Command = {
  name: "logs",
  summary: "print a task's log lines",
  help: `Usage: ottoscaler logs --task T [--worker NAME] [--follow]

Prints every line the task's workers printed, each worker's lines numbered from 1 (stderr lines
marked "!"). With --follow, keeps printing new lines until every worker has ended.

  --task T           the task id (required)
  --worker NAME      only this worker
  --follow, -f       wait for new lines until the workers end
${SERVER_HELP}`,
  async run(args, out) {
    const v = parse(args, {
      task: { type: "string" },
      worker: { type: "string" },
      follow: { type: "boolean", short: "f" },
    });
    if (v.help) return help(this, out);
    const format = outputFormat(v.output);
    const request = {
      task_id: requireTask(v.task),
      worker_id: (v.worker as string | undefined) ?? "",
      follow: Boolean(v.follow),
    };
    await withClient(
      v,
      (client) =>
        consume<WorkerLogEntry__Output>(client.WatchWorkerLogs(request), (entry) => {
          out.line(format === "json" ? JSON.stringify(entry) : logLine(entry));
        }),
    );
    return 0;
  },
};

const events: Command = {
  name: "events",
  summary: "print a task's worker state changes",
  help: `Usage: ottoscaler events --task T [--worker NAME]

Prints each worker's state changes (CREATED, RUNNING, then COMPLETED, FAILED or TERMINATED) as
they happen, starting with those that already happened, and exits once every worker of the task
has ended. Waits for workers that do not exist yet.

  --task T           the task id (required)
  --worker NAME      only this worker
${SERVER_HELP}`,
  async run(args, out) {
    const v = parse(args, { task: { type: "string" }, worker: { type: "string" } });
    if (v.help) return help(this, out);
    const format = outputFormat(v.output);
    const taskId = requireTask(v.task);
    const workerName = (v.worker as string | undefined) ?? "";
    const request = { task_id: taskId, worker_pod_name: workerName };
    await withClient(v, async (client) => {
      const known = await unaryCall<typeof request, WorkerStatusResponse__Output>(
        client.GetWorkerStatus.bind(client),
        request,
      );
      // Workers not yet ended; the command exits when this set empties.
      const open = new Set(known.workers.map((w) => w.pod_name));
      await consume<WorkerStatusNotification__Output>(
        client.WatchWorkerEvents(request),
        (event) => {
          out.line(format === "json" ? JSON.stringify(event) : eventLine(event));
          if (event.status === "CREATED" || event.status === "RUNNING") open.add(event.worker_id);
          else open.delete(event.worker_id);
          return open.size > 0;
        },
      );
    });
    return 0;
  },
};

const pipeline: Command = {
  name: "pipeline",
  summary: "run, watch, cancel a pipeline, or approve or reject its APPROVAL stage",
  help: `Usage: ottoscaler pipeline run FILE [--id ID]
       ottoscaler pipeline watch ID
       ottoscaler pipeline cancel ID
       ottoscaler pipeline approve ID STAGE [--comment TEXT] [--approver NAME]
       ottoscaler pipeline reject ID STAGE [--comment TEXT] [--approver NAME]

run     starts the pipeline in FILE (YAML with the fields of ottoscaler.v1.PipelineRequest; see
        examples/pipeline.yaml) and prints each stage transition until it is finished. If a
        pipeline with that id exists, it re-attaches to it instead of starting it twice.
        --id ID overrides the file's pipeline_id.
watch   prints a pipeline's stages as they stand, then its transitions until it is finished.
cancel  cancels a pipeline: running stages are cancelled and their workers stopped.
approve completes an APPROVAL stage that is waiting: its dependents run.
reject  fails an APPROVAL stage that is waiting, naming the approver and comment: its dependents
        are skipped. --approver defaults to $USER.

Exits 0 when every stage completed, 1 otherwise.
${SERVER_HELP}`,
  async run(args, out) {
    const { flags: v, positionals: positional } = parseWithPositionals(args, {
      id: { type: "string" },
      comment: { type: "string" },
      approver: { type: "string" },
    });
    if (v.help || positional.length === 0) return help(this, out);
    const [action, target] = positional;
    if (!target) {
      throw new UsageError(`pipeline ${action}: missing ${action === "run" ? "FILE" : "ID"}`);
    }
    const finish = (last: Record<string, string>) => {
      const failed = Object.entries(last).filter(([, status]) => status !== "STAGE_COMPLETED");
      out.line(
        failed.length === 0
          ? "pipeline completed"
          : `pipeline did not complete: ${failed.map(([id, st]) => `${id} ${st}`).join(", ")}`,
      );
      return failed.length === 0 ? 0 : 1;
    };
    switch (action) {
      case "run": {
        let request;
        try {
          request = await readPipelineFile(target);
        } catch (err) {
          if (err instanceof PipelineFileError) throw new UsageError(err.message);
          throw err;
        }
        if (typeof v.id === "string") request = { ...request, pipeline_id: v.id };
        const pipelineRequest = request;
        return finish(await withClient(v, (c) => streamPipeline(c, pipelineRequest, out.line)));
      }
      case "watch":
        return finish(await withClient(v, (c) => watchPipeline(c, target, out.line)));
      case "cancel": {
        const res = await withClient(v, (c) => cancelPipeline(c, target));
        out.line(res.message);
        return 0;
      }
      case "approve":
      case "reject": {
        const stage = positional[2];
        if (!stage) throw new UsageError(`pipeline ${action}: missing STAGE`);
        const res = await withClient(v, (c) =>
          approveStage(c, {
            pipeline_id: target,
            stage_id: stage,
            approved: action === "approve",
            approver: String(v.approver ?? Deno.env.get("USER") ?? "ottoscaler-cli"),
            comment: String(v.comment ?? ""),
          }));
        out.line(`${res.message} (${res.status})`);
        return 0;
      }
      default:
        throw new UsageError(
          `unknown pipeline action "${action}": use run, watch, cancel, approve or reject`,
        );
    }
  },
};

function help(command: Command, out: Output): number {
  out.line(command.help);
  return 0;
}

/** Every client command, by name. */
export const COMMANDS: readonly Command[] = [scaleUp, scaleDown, status, logs, events, pipeline];
