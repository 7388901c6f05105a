/**
 * Settings of what workers run and how many, on either runtime (part of the one table in `config.ts`).
 *
 * @module
 */

import { imagePatterns, integer, nonEmpty, oneOf, text } from "./rules.ts";
import type { RuntimeKind, Setting } from "./types.ts";

/** Settings of what workers run and how many, on either runtime. */
export const WORKER_SETTINGS: readonly Setting[] = [
  {
    key: "runtime",
    env: "WORKER_RUNTIME",
    flag: "runtime",
    default: "local",
    doc: "Where workers run: `local` (process groups on this machine) or `kubernetes` (pods).",
    parse: oneOf<RuntimeKind>(["local", "kubernetes"]),
  },
  {
    key: "stateDir",
    env: "STATE_DIR",
    flag: "state-dir",
    default: ".ottoscaler/state",
    doc: "Where the local runtime keeps each worker's state, output and numbered log.",
    parse: nonEmpty,
  },
  {
    key: "stateRetentionSeconds",
    env: "STATE_RETENTION_SECONDS",
    flag: "state-retention-seconds",
    default: "86400",
    doc:
      "Local runtime: seconds an ended worker is kept once its logs and state changes were delivered (push mode; else once it ended), and a finished pipeline's file; then they are removed from STATE_DIR.",
    parse: integer(0, 365 * 86400),
  },
  {
    key: "agentImage",
    env: "OTTO_AGENT_IMAGE",
    flag: "agent-image",
    default: "busybox:latest",
    doc: "Image of workers whose build_config names none.",
    parse: text((
      v,
    ) => (v.trim() === "" || /\s/.test(v) ? "must be an image reference" : undefined)),
  },
  {
    key: "imageAllowlist",
    env: "IMAGE_ALLOWLIST",
    flag: "image-allowlist",
    default: "",
    doc:
      "Comma-separated image patterns workers may use, `*` matching any run of characters (e.g. `registry.example.com/ci/*`); other images are PERMISSION_DENIED; empty: any image.",
    parse: imagePatterns,
  },
  {
    key: "maxWorkersPerTask",
    env: "MAX_WORKERS_PER_TASK",
    flag: "max-workers-per-task",
    default: "100",
    doc: "The most workers one task may have (ScaleUp's worker_count limit).",
    parse: integer(1, 10000),
  },
  {
    key: "maxParallelStarts",
    env: "MAX_PARALLEL_STARTS",
    flag: "max-parallel-starts",
    default: "16",
    doc:
      "The most worker starts (or stops) in flight at once; Kubernetes pod creates start at four times this and adapt to the API server (up to 16 times that while its throughput grows; halved on 429/5xx).",
    parse: integer(1, 1000),
  },
  {
    key: "maxRunningWorkers",
    env: "MAX_RUNNING_WORKERS",
    flag: "max-running-workers",
    default: "0",
    doc:
      "The most workers running at once; more wait in line (pending, Queued: position N). 0: no cap.",
    parse: integer(0, 1_000_000),
  },
  {
    key: "maxRunningWorkersPerTenant",
    env: "MAX_RUNNING_WORKERS_PER_TENANT",
    flag: "max-running-workers-per-tenant",
    default: "0",
    doc:
      'The most workers of one tenant (metadata "tenant", else triggered_by) running at once. 0: no cap.',
    parse: integer(0, 1_000_000),
  },
  {
    key: "queueTimeoutSeconds",
    env: "QUEUE_TIMEOUT_SECONDS",
    flag: "queue-timeout-seconds",
    default: "3600",
    doc: "Seconds a worker may wait in line for room before it fails as QuotaExceeded.",
    parse: integer(1, 30 * 86400),
  },
  {
    key: "stopGraceSeconds",
    env: "STOP_GRACE_SECONDS",
    flag: "stop-grace-seconds",
    default: "10",
    doc: "Seconds a stopped worker gets between SIGTERM and SIGKILL.",
    parse: integer(0, 3600),
  },
  {
    key: "logMaxLineBytes",
    env: "LOG_MAX_LINE_BYTES",
    flag: "log-max-line-bytes",
    default: "65536",
    doc: "Worker output lines longer than this are split into pieces of this size, never dropped.",
    parse: integer(64, 4 * 1024 * 1024),
  },
];
