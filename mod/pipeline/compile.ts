/**
 * Pipeline compilation: checks a pipeline request against every rule before anything runs, and
 * turns it into stages in dependency order. Pure: no I/O, no clock.
 *
 * Refusals are {@linkcode ValidationError}s whose field names the stage by its id, e.g.
 * `stages[test].depends_on: names unknown stage "bild"`.
 *
 * @module
 */

import { ValidationError } from "../worker/errors.ts";
import { MAX_TIMEOUT_SECONDS, OTTO_VARIABLES, validateTaskId } from "../worker/validate.ts";

/**
 * What a stage is. `approval` runs no workers and waits for a person; `cleanup` and `notify` run
 * once their dependencies have ended, however they ended; the others are ordinary worker stages.
 */
export type StageType =
  | "unspecified"
  | "build"
  | "test"
  | "deploy"
  | "setup"
  | "cleanup"
  | "notify"
  | "approval"
  | "custom";

/** The wire's StageType numbers, by type. */
export const STAGE_TYPE_NUMBERS: Readonly<Record<StageType, number>> = {
  unspecified: 0,
  build: 1,
  test: 2,
  deploy: 3,
  setup: 4,
  cleanup: 5,
  notify: 6,
  approval: 7,
  custom: 100,
};

/** Whether stages of this type run once their dependencies ended, however they ended. */
export function runsAfterFailure(type: StageType): boolean {
  return type === "cleanup" || type === "notify";
}

/**
 * Reads a stage type from a StageType number, a StageType name or the older string form; throws
 * {@linkcode ValidationError} on `field` for anything else.
 */
export function parseStageType(raw: string | number | undefined, field: string): StageType {
  const names = Object.keys(STAGE_TYPE_NUMBERS) as StageType[];
  if (raw === undefined || raw === "") return "unspecified";
  if (typeof raw === "number") {
    const found = names.find((name) => STAGE_TYPE_NUMBERS[name] === raw);
    if (found) return found;
    throw new ValidationError(
      field,
      `unknown stage type ${raw}: use 0-7 or 100 (${
        names.map((n) => `STAGE_TYPE_${n.toUpperCase()}`).join(", ")
      })`,
    );
  }
  const name = raw.trim().toLowerCase().replace(/^stage_type_/, "");
  if ((names as string[]).includes(name)) return name as StageType;
  throw new ValidationError(
    field,
    `unknown stage type "${raw}": use one of ${names.join(", ")} (or STAGE_TYPE_<NAME>)`,
  );
}

/** Failure classes a retry policy can name. */
export type FailureClass = "any" | "timeout" | "start_failure" | "exit_code";

/** A retryable failure: a class, or one specific exit code. */
export type RetryableFailure = { readonly class: FailureClass } | { readonly exitCode: number };

/** A stage as requested (domain terms of the wire's PipelineStage). */
export interface StageRequest {
  readonly stageId: string;
  /**
   * The wire's StageType: its number, its name (`STAGE_TYPE_BUILD`), or the seed's older string
   * form (`build`, any case).
   */
  readonly type?: string | number;
  readonly name?: string;
  readonly workerCount: number;
  readonly dependsOn?: readonly string[];
  readonly config?: Readonly<Record<string, string>>;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly timeoutSeconds?: number;
  readonly retryPolicy?: {
    readonly maxAttempts?: number;
    readonly retryDelaySeconds?: number;
    readonly retryableFailures?: readonly string[];
  };
}

/** A pipeline as requested. */
export interface PipelineRequest {
  readonly pipelineId: string;
  readonly name?: string;
  readonly stages: readonly StageRequest[];
}

/** A checked stage, ready to run. */
export interface CompiledStage {
  readonly id: string;
  readonly type: StageType;
  readonly name: string;
  readonly workerCount: number;
  /** Stages that must complete first. */
  readonly dependsOn: readonly string[];
  /** Stages that wait for this one. */
  readonly dependents: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly image?: string;
  /** The argv: command followed by args. Empty: the image's entrypoint. */
  readonly argv: readonly string[];
  /** 0: none. */
  readonly timeoutSeconds: number;
  /** At least 1. */
  readonly maxAttempts: number;
  readonly retryDelaySeconds: number;
  readonly retryable: readonly RetryableFailure[];
}

/** A checked pipeline: stages in an order where each comes after its dependencies. */
export interface CompiledPipeline {
  readonly id: string;
  readonly name: string;
  readonly stages: readonly CompiledStage[];
}

/** Limits that depend on configuration. */
export interface CompileLimits {
  /** The most workers a stage may have. */
  readonly maxWorkersPerStage: number;
  /** Whether each stage needs a command (a runtime that runs no images). */
  readonly requireCommand: boolean;
}

/**
 * The variables Ottoscaler sets on every pipeline worker, which a stage's config may not set.
 * Other OTTO_* names pass (as in ScaleUp), e.g. OTTO_SIM_DURATION for simulated workers.
 */
export const PIPELINE_VARIABLES = [
  ...OTTO_VARIABLES,
  "OTTO_PIPELINE_ID",
  "OTTO_STAGE_ID",
  "OTTO_STAGE_TYPE",
  "OTTO_ATTEMPT",
] as const;

/** The most stages in one pipeline. */
export const MAX_STAGES = 100;
/** The most attempts a retry policy may ask for. */
export const MAX_ATTEMPTS = 10;
/** The longest retry delay. */
export const MAX_RETRY_DELAY_SECONDS = 3600;

const STAGE_ID = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FAILURE_CLASSES: readonly FailureClass[] = ["any", "timeout", "start_failure", "exit_code"];

function inRange(value: number, min: number, max: number, field: string, unit = ""): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(
      field,
      `must be an integer from ${min} to ${max}${unit}, got ${value}`,
    );
  }
  return value;
}

function parseRetryable(raw: string, field: string): RetryableFailure {
  const value = raw.trim().toLowerCase();
  const code = value.match(/^exit_code:(\d{1,3})$/);
  if (code && Number(code[1]) <= 255) return { exitCode: Number(code[1]) };
  if ((FAILURE_CLASSES as readonly string[]).includes(value)) {
    return { class: value as FailureClass };
  }
  throw new ValidationError(
    field,
    `"${raw}" is not a failure class: use any, timeout, start_failure, exit_code or exit_code:<0-255>`,
  );
}

function compileStage(
  stage: StageRequest,
  limits: CompileLimits,
): Omit<CompiledStage, "dependents"> {
  const at = (field: string) => `stages[${stage.stageId}].${field}`;
  const type = parseStageType(stage.type, at("type"));
  if (type === "approval") return compileApproval(stage, at);
  const workerCount = inRange(stage.workerCount, 1, limits.maxWorkersPerStage, at("worker_count"));
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(stage.config ?? {})) {
    if (!ENV_NAME.test(key)) {
      throw new ValidationError(
        `${at("config")}.${key}`,
        "is not a valid environment variable name",
      );
    }
    if ((PIPELINE_VARIABLES as readonly string[]).includes(key)) {
      throw new ValidationError(
        `${at("config")}.${key}`,
        "is reserved: Ottoscaler sets it on every pipeline worker",
      );
    }
    env[key] = value;
  }
  const image = stage.image?.trim() || undefined;
  if (image && /\s/.test(image)) {
    throw new ValidationError(at("image"), "must be an image reference without spaces");
  }
  const argv = [...(stage.command ?? []), ...(stage.args ?? [])];
  if ((stage.command ?? []).some((part) => part.includes("\0"))) {
    throw new ValidationError(at("command"), "must not contain NUL bytes");
  }
  if (argv.length === 0 && (limits.requireCommand || !image)) {
    throw new ValidationError(
      at("command"),
      limits.requireCommand
        ? "is required by the local runtime, which runs commands, not images"
        : "is required when no image is given: a stage needs a command or an image to run",
    );
  }
  if ((stage.command ?? []).length === 0 && (stage.args ?? []).length > 0 && !image) {
    throw new ValidationError(at("args"), "need a command or an image to pass them to");
  }
  const timeoutSeconds = inRange(
    stage.timeoutSeconds ?? 0,
    0,
    MAX_TIMEOUT_SECONDS,
    at("timeout_seconds"),
    " seconds (0: none)",
  );
  const policy = stage.retryPolicy ?? {};
  const maxAttempts = Math.max(
    1,
    inRange(policy.maxAttempts ?? 1, 0, MAX_ATTEMPTS, at("retry_policy.max_attempts")),
  );
  const retryDelaySeconds = inRange(
    policy.retryDelaySeconds ?? 0,
    0,
    MAX_RETRY_DELAY_SECONDS,
    at("retry_policy.retry_delay_seconds"),
    " seconds",
  );
  const failures = policy.retryableFailures ?? [];
  const retryable = failures.length > 0
    ? failures.map((f, i) => parseRetryable(f, `${at("retry_policy.retryable_failures")}[${i}]`))
    : [{ class: "any" as const }];
  return {
    id: stage.stageId,
    type,
    name: stage.name || stage.stageId,
    workerCount,
    dependsOn: [...(stage.dependsOn ?? [])],
    env,
    image,
    argv,
    timeoutSeconds,
    maxAttempts,
    retryDelaySeconds,
    retryable,
  };
}

/** An APPROVAL stage: no workers, nothing to run; only its timeout (0: wait forever) counts. */
function compileApproval(
  stage: StageRequest,
  at: (field: string) => string,
): Omit<CompiledStage, "dependents"> {
  const rule = "must be empty: an APPROVAL stage runs no workers";
  if (stage.workerCount !== 0) {
    throw new ValidationError(
      at("worker_count"),
      `must be 0: an APPROVAL stage runs no workers, got ${stage.workerCount}`,
    );
  }
  if ((stage.command ?? []).length > 0) throw new ValidationError(at("command"), rule);
  if ((stage.args ?? []).length > 0) throw new ValidationError(at("args"), rule);
  if (stage.image?.trim()) throw new ValidationError(at("image"), rule);
  if (Object.keys(stage.config ?? {}).length > 0) throw new ValidationError(at("config"), rule);
  if ((stage.retryPolicy?.maxAttempts ?? 0) > 1) {
    throw new ValidationError(
      at("retry_policy.max_attempts"),
      "must be 0 or 1: an APPROVAL stage is decided once",
    );
  }
  return {
    id: stage.stageId,
    type: "approval",
    name: stage.name || stage.stageId,
    workerCount: 0,
    dependsOn: [...(stage.dependsOn ?? [])],
    env: {},
    argv: [],
    timeoutSeconds: inRange(
      stage.timeoutSeconds ?? 0,
      0,
      MAX_TIMEOUT_SECONDS,
      at("timeout_seconds"),
      " seconds (0: none)",
    ),
    maxAttempts: 1,
    retryDelaySeconds: 0,
    retryable: [],
  };
}

/** Finds a cycle among stages (by id), returning its path, e.g. [a, b, a]; undefined if none. */
function findCycle(deps: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === "done") return undefined;
    if (state.get(id) === "visiting") return [...path.slice(path.indexOf(id)), id];
    state.set(id, "visiting");
    path.push(id);
    for (const dep of deps.get(id) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const id of deps.keys()) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Checks a pipeline and orders its stages; throws {@linkcode ValidationError} on the first problem. */
export function compilePipeline(request: PipelineRequest, limits: CompileLimits): CompiledPipeline {
  const id = validateTaskId(request.pipelineId, "pipeline_id");
  if (request.stages.length === 0) {
    throw new ValidationError("stages", "must name at least one stage");
  }
  if (request.stages.length > MAX_STAGES) {
    throw new ValidationError(
      "stages",
      `must have at most ${MAX_STAGES} stages, got ${request.stages.length}`,
    );
  }
  const seen = new Set<string>();
  for (const [i, stage] of request.stages.entries()) {
    if (!STAGE_ID.test(stage.stageId)) {
      throw new ValidationError(
        `stages[${i}].stage_id`,
        `must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got "${stage.stageId}"`,
      );
    }
    if (seen.has(stage.stageId)) {
      throw new ValidationError(
        `stages[${i}].stage_id`,
        `"${stage.stageId}" is used by another stage`,
      );
    }
    seen.add(stage.stageId);
  }
  const compiled = request.stages.map((stage) => compileStage(stage, limits));
  for (const stage of compiled) {
    const field = `stages[${stage.id}].depends_on`;
    const unique = new Set<string>();
    for (const dep of stage.dependsOn) {
      if (dep === stage.id) throw new ValidationError(field, "must not name the stage itself");
      if (!seen.has(dep)) throw new ValidationError(field, `names unknown stage "${dep}"`);
      if (unique.has(dep)) throw new ValidationError(field, `names "${dep}" twice`);
      unique.add(dep);
    }
  }
  const deps = new Map(compiled.map((s) => [s.id, s.dependsOn]));
  const cycle = findCycle(deps);
  if (cycle) {
    throw new ValidationError(
      `stages[${cycle[0]}].depends_on`,
      `forms a cycle: ${cycle.join(" → ")}`,
    );
  }
  // Order: repeatedly take the stages whose dependencies are all placed (stable by request order).
  const placed = new Set<string>();
  const ordered: CompiledStage[] = [];
  while (ordered.length < compiled.length) {
    for (const stage of compiled) {
      if (placed.has(stage.id) || !stage.dependsOn.every((d) => placed.has(d))) continue;
      placed.add(stage.id);
      const dependents = compiled.filter((s) => s.dependsOn.includes(stage.id)).map((s) => s.id);
      ordered.push({ ...stage, dependents });
    }
  }
  return { id, name: request.name || id, stages: ordered };
}
