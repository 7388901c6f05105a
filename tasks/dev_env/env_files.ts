/**
 * Per-developer environment files (`.env.<name>.local`), the pure part of `tasks/dev_env/`
 * (`deno task setup-user`, `list-envs`, `status`, `deploy`, `logs`, `k8s-status`, `clean`):
 * name validation, the names derived from a developer's name, rendering a file and reading one
 * back. The files hold `KEY=value` lines that `deno task dev --env-file <file>` reads.
 *
 * @module
 */

import { parseEnv } from "node:util";

/**
 * The longest developer name: the kind node container `ottoscaler-<name>-control-plane` must stay
 * a valid 63-character host name (and the namespace `<name>-dev` a DNS label).
 */
export const MAX_NAME_LENGTH = 38;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_FILE = /^\.env\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.local$/;

/**
 * Why `name` cannot be a developer name, or `undefined` when it can. A name must be a DNS label
 * (lower-case letters, digits and `-`, starting and ending with a letter or digit) of at most
 * {@linkcode MAX_NAME_LENGTH} characters, because it becomes part of a namespace, a kind cluster
 * and a kubeconfig context.
 */
export function nameProblem(name: string): string | undefined {
  if (name === "") return "must not be empty";
  if (name.length > MAX_NAME_LENGTH) {
    return `must be at most ${MAX_NAME_LENGTH} characters (it has ${name.length})`;
  }
  if (!DNS_LABEL.test(name)) {
    return "must be a DNS label: lower-case letters, digits and '-', " +
      "starting and ending with a letter or digit";
  }
  return undefined;
}

/** The names derived from one developer's name. */
export interface DevNames {
  /** The developer's name, as given. */
  readonly name: string;
  /** The env file's name (no directory): `.env.<name>.local`. */
  readonly envFile: string;
  /** The namespace of the developer's worker pods: `<name>-dev`. */
  readonly namespace: string;
  /** The developer's kind cluster: `ottoscaler-<name>`. */
  readonly kindCluster: string;
  /** The kubeconfig context kind writes for that cluster: `kind-ottoscaler-<name>`. */
  readonly kubeContext: string;
  /** The local state directory, relative to the repository root: `.ottoscaler/<name>`. */
  readonly stateDir: string;
}

/** The names derived from `name`; throws a `RangeError` if {@linkcode nameProblem} finds one. */
export function devNames(name: string): DevNames {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new RangeError(`invalid name '${name}': ${problem}`);
  return {
    name,
    envFile: `.env.${name}.local`,
    namespace: `${name}-dev`,
    kindCluster: `ottoscaler-${name}`,
    kubeContext: `kind-ottoscaler-${name}`,
    stateDir: `.ottoscaler/${name}`,
  };
}

/** The settings `setup-user` writes for `name`, in file order. */
export function devSettings(name: string): ReadonlyArray<readonly [string, string]> {
  const n = devNames(name);
  return [
    ["WORKER_RUNTIME", "kubernetes"],
    ["KUBE_CONTEXT", n.kubeContext],
    ["NAMESPACE", n.namespace],
    ["GRPC_PORT", "9090"],
    ["LOG_LEVEL", "debug"],
    ["STATE_DIR", n.stateDir],
  ];
}

/** The text of `name`'s env file: a comment saying how to use it, then `KEY=value` lines. */
export function renderEnvFile(name: string): string {
  const n = devNames(name);
  const lines = [
    `# Ottoscaler settings of developer '${name}', written by \`deno task setup-user ${name}\`.`,
    `# Use: deno task dev --env-file ${n.envFile}   (flags and the environment win over this file)`,
    ...devSettings(name).map(([key, value]) => `${key}=${value}`),
  ];
  return lines.join("\n") + "\n";
}

/** The developer name in an env file's name (`.env.<name>.local`), or `undefined`. */
export function nameOfEnvFile(fileName: string): string | undefined {
  const match = ENV_FILE.exec(fileName);
  if (match === null) return undefined;
  return nameProblem(match[1]) === undefined ? match[1] : undefined;
}

/**
 * The variables of an env file's text, read as Ottoscaler's `--env-file` reads them (Node.js's
 * `util.parseEnv`: `KEY=value` lines, `#` comments, optional quotes).
 */
export function parseEnvFile(text: string): Record<string, string> {
  const parsed = parseEnv(text) as Record<string, string | undefined>;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** One env file as `list-envs` shows it. */
export interface EnvSummary {
  /** The developer's name. */
  readonly name: string;
  /** The env file's name (no directory). */
  readonly file: string;
  /** Its `NAMESPACE`, or `""` when it sets none. */
  readonly namespace: string;
  /** Its `KUBE_CONTEXT`, or `""`. */
  readonly kubeContext: string;
  /** Its `WORKER_RUNTIME`, or `""`. */
  readonly workerRuntime: string;
}

/** The summary of the env file `fileName` with text `text`, or `undefined` if it is not one. */
export function summarizeEnvFile(fileName: string, text: string): EnvSummary | undefined {
  const name = nameOfEnvFile(fileName);
  if (name === undefined) return undefined;
  const vars = parseEnvFile(text);
  return {
    name,
    file: fileName,
    namespace: vars.NAMESPACE ?? "",
    kubeContext: vars.KUBE_CONTEXT ?? "",
    workerRuntime: vars.WORKER_RUNTIME ?? "",
  };
}

/**
 * Rows as an aligned text table, columns separated by two spaces, the last column not padded.
 * Empty cells show as `-`.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [header, ...rows].map((row) => row.map((cell) => (cell === "" ? "-" : cell)));
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  return all
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")
    )
    .join("\n") + "\n";
}

/** The `list-envs` table of `summaries` (sorted by name): NAME FILE NAMESPACE KUBE_CONTEXT RUNTIME. */
export function formatEnvList(summaries: readonly EnvSummary[]): string {
  const rows = [...summaries]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => [s.name, s.file, s.namespace, s.kubeContext, s.workerRuntime]);
  return formatTable(["NAME", "FILE", "NAMESPACE", "KUBE_CONTEXT", "WORKER_RUNTIME"], rows);
}

/** A duration as `kubectl get` shows an age: `45s`, `12m`, `3h`, `5d`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}
