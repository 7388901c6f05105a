/**
 * Validation of what describes workers (task ids, counts, `build_config`, phase filters): pure
 * functions that either return a clean value or throw a {@linkcode ValidationError} naming the
 * field and the rule. ScaleUp, ScaleDown and pipeline stages all use them before anything is
 * created.
 *
 * @module
 */

import { type AdmissionTicket, type Phase, PHASES } from "./types.ts";
import { ValidationError } from "./errors.ts";

/** What `build_config` describes once its reserved keys are taken out. */
export interface WorkerTemplate {
  /** The image, when given. */
  readonly image?: string;
  /** The shell script, when given. */
  readonly command?: string;
  /** The timeout in seconds; 0 when none. */
  readonly timeoutSeconds: number;
  /** The remaining entries: the workers' environment. */
  readonly env: Readonly<Record<string, string>>;
}

/** Keys of `build_config` that configure the worker instead of becoming variables. */
export const RESERVED_BUILD_KEYS = ["image", "command", "timeout_seconds"] as const;

/** Variables Ottoscaler sets on every worker; `build_config` may not set them. */
export const OTTO_VARIABLES = [
  "OTTO_TASK_ID",
  "OTTO_WORKER_ID",
  "OTTO_WORKER_INDEX",
  "OTTO_REPOSITORY",
  "OTTO_COMMIT_SHA",
] as const;

/** The longest timeout accepted: one week. */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Checks a task id: required, at most 253 characters, no control characters. */
export function validateTaskId(taskId: string, field = "task_id"): string {
  if (taskId.trim() === "") throw new ValidationError(field, "must not be empty");
  if (taskId.length > 253) throw new ValidationError(field, "must be at most 253 characters");
  if (CONTROL_CHARS.test(taskId)) {
    throw new ValidationError(field, "must not contain control characters");
  }
  return taskId;
}

/** Checks a count against an inclusive range. */
export function validateCount(value: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** Splits `build_config` into the worker template; throws on a bad key or reserved value. */
export function parseBuildConfig(
  config: Readonly<Record<string, string>>,
  options: { requireCommand: boolean },
): WorkerTemplate {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if ((RESERVED_BUILD_KEYS as readonly string[]).includes(key)) continue;
    const field = `build_config.${key}`;
    if (!ENV_NAME.test(key)) {
      throw new ValidationError(
        field,
        "is not a valid environment variable name (letters, digits and _, not starting with a digit)",
      );
    }
    if ((OTTO_VARIABLES as readonly string[]).includes(key)) {
      throw new ValidationError(field, "is reserved: Ottoscaler sets it on every worker");
    }
    if (value.includes("\0")) throw new ValidationError(field, "must not contain NUL bytes");
    env[key] = value;
  }
  const image = config.image;
  if (image !== undefined && (image.trim() === "" || /\s/.test(image))) {
    throw new ValidationError("build_config.image", "must be an image reference without spaces");
  }
  const command = config.command;
  if (command !== undefined && command.trim() === "") {
    throw new ValidationError("build_config.command", "must not be empty when given");
  }
  if (command === undefined && options.requireCommand) {
    throw new ValidationError(
      "build_config.command",
      "is required by the local runtime, which runs commands, not images",
    );
  }
  let timeoutSeconds = 0;
  if (config.timeout_seconds !== undefined) {
    const raw = config.timeout_seconds.trim();
    timeoutSeconds = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(timeoutSeconds >= 0 && timeoutSeconds <= MAX_TIMEOUT_SECONDS)) {
      throw new ValidationError(
        "build_config.timeout_seconds",
        `must be a whole number of seconds from 0 to ${MAX_TIMEOUT_SECONDS}`,
      );
    }
  }
  return { image, command, timeoutSeconds, env };
}

/** Checks a status filter: empty, or one of the phases. */
export function validatePhaseFilter(value: string, field = "status_filter"): Phase | undefined {
  if (value === "") return undefined;
  if (!(PHASES as readonly string[]).includes(value)) {
    throw new ValidationError(field, `must be one of ${PHASES.join(", ")} (or empty)`);
  }
  return value as Phase;
}

/**
 * A request's place in line (see `AdmissionTicket`): the tenant is `metadata["tenant"]`, else
 * `triggered_by`, else `default`; the priority `metadata["priority"]`, an integer (default 0).
 */
export function admissionTicket(
  metadata: Readonly<Record<string, string>>,
  triggeredBy?: string,
): AdmissionTicket {
  const tenant = metadata.tenant || triggeredBy || "default";
  const raw = metadata.priority?.trim() ?? "";
  if (raw !== "" && !/^[-+]?\d{1,9}$/.test(raw)) {
    throw new ValidationError(
      "metadata.priority",
      `must be an integer from -999999999 to 999999999, got "${metadata.priority}"`,
    );
  }
  return { tenant, priority: raw === "" ? 0 : Number(raw) };
}
