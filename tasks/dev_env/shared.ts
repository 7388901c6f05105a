/**
 * What the developer-environment commands share: their command shape (a {@linkcode Command} of
 * `mod/cli/command.ts` with a usage line), their common flags (`--dir`, `--force`, `--help`),
 * running tools, and finding a developer's env file.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Command, type Output, UsageError } from "../../mod/cli/command.ts";
import { devNames, nameOfEnvFile, nameProblem, parseEnvFile } from "./env_files.ts";

/** The repository root (no trailing slash): the default `--dir` and the Docker build context. */
export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** The container image `image` builds and `deploy` loads. */
export const IMAGE = "ottoscaler:latest";
/** The Deployment `manifests/` creates. */
export const DEPLOYMENT = "ottoscaler";
/** The label selector of Ottoscaler's worker pods. */
export const WORKER_SELECTOR = "managed-by=ottoscaler";

/** Something that did not work: exit code 1, the message says what. */
export class Failure extends Error {
  /** Creates the failure. */
  constructor(message: string) {
    super(message);
    this.name = "Failure";
  }
}

/** A developer-environment command: a CLI command with the usage line its errors repeat. */
export interface DevCommand extends Command {
  /** The usage line after `deno task `, e.g. `deploy [NAME] [--dir DIR]`. */
  readonly usage: string;
}

/** The parsed command line of one command. */
export interface Invocation {
  /** Positional arguments after the command. */
  readonly args: string[];
  /** Where env files (and `.ottoscaler/<name>`) live. */
  readonly dir: string;
  /** `--force` (setup-user: overwrite an existing env file). */
  readonly force: boolean;
  /** `--help` was given. */
  readonly help: boolean;
}

const OPTIONS_HELP = "  --dir DIR   where the env files are (default: the repository root)\n" +
  "  --help      this help\n";

/** The help text's line for commands whose NAME may be left out. */
export const NAME_HELP =
  "NAME defaults to the only .env.<name>.local file, if there is just one.\n";

/** The `--help` text of a command with usage line `usage` and description `body`. */
export function helpText(usage: string, body: string): string {
  return `Usage: deno task ${usage}\n\n${body}\nOptions:\n${OPTIONS_HELP}`;
}

/**
 * Parses a command's arguments (`--dir`, `--force`, `--help` and at most `maxArgs` positionals);
 * throws a `UsageError` (or `parseArgs`'s `TypeError`) for a bad command line.
 */
export function parseInvocation(args: string[], maxArgs: number): Invocation {
  const { values, positionals } = parseArgs({
    args,
    options: {
      dir: { type: "string" },
      force: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (!values.help && positionals.length > maxArgs) {
    throw new UsageError(`too many arguments: ${positionals.slice(maxArgs).join(" ")}`);
  }
  return { args: positionals, dir: values.dir ?? ROOT, force: values.force, help: values.help };
}

/** The absolute path of `tool` on PATH, or `undefined`. */
export function which(tool: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const info = Deno.statSync(`${dir}/${tool}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return `${dir}/${tool}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a program with the terminal attached, echoing its command line to `out`; its exit code. */
export async function run(out: Output, tool: string, args: string[]): Promise<number> {
  out.line(`$ ${[tool, ...args].join(" ")}`);
  const status = await new Deno.Command(tool, { args, stdin: "inherit" }).spawn().status;
  return status.code;
}

/** Runs a program quietly; its exit code and stdout. */
export async function capture(
  tool: string,
  args: string[],
): Promise<{ code: number; stdout: string }> {
  const out = await new Deno.Command(tool, { args, stdin: "null", stderr: "null" }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

/** Whether `path` exists (a dangling symlink counts). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Throws a {@link Failure} naming the tools of `tools` that are not on PATH. */
export function requireTools(what: string, ...tools: string[]): void {
  const missing = tools.filter((tool) => which(tool) === undefined);
  if (missing.length > 0) {
    throw new Failure(`${missing.join(" and ")} not found on PATH: cannot ${what}.`);
  }
}

/** The first line of an error's message. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.split("\n")[0];
  return String(err);
}

/** The env files in `dir`, by developer name. */
export async function envFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const name = nameOfEnvFile(entry.name);
      if (entry.isFile && name !== undefined) names.push(name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort();
}

/** The developer a command is about: its argument, else the only env file in `dir`. */
export async function resolveName(inv: Invocation): Promise<string> {
  const given = inv.args[0];
  if (given !== undefined) {
    const problem = nameProblem(given);
    if (problem !== undefined) throw new UsageError(`invalid name '${given}': ${problem}`);
    return given;
  }
  const names = await envFiles(inv.dir);
  if (names.length === 1) return names[0];
  if (names.length === 0) {
    throw new UsageError(`no .env.<name>.local in ${inv.dir}; run: deno task setup-user <name>`);
  }
  throw new UsageError(`several env files (${names.join(", ")}): name one`);
}

/** What a command needs from a developer's env file. */
export interface DevTarget {
  /** The developer's name. */
  readonly name: string;
  /** The developer's namespace: `NAMESPACE` of the file, else `<name>-dev`. */
  readonly namespace: string;
  /** The kubeconfig context: `KUBE_CONTEXT` from the environment, else from the file. */
  readonly context: string;
}

/** Reads the env file of the developer `inv` names; a {@link Failure} if it does not exist. */
export async function loadTarget(inv: Invocation): Promise<DevTarget> {
  const name = await resolveName(inv);
  const path = `${inv.dir}/${devNames(name).envFile}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Failure(`${path} does not exist; run: deno task setup-user ${name}`);
    }
    throw err;
  }
  const vars = parseEnvFile(text);
  return {
    name,
    namespace: vars.NAMESPACE || devNames(name).namespace,
    context: Deno.env.get("KUBE_CONTEXT") ?? vars.KUBE_CONTEXT ?? "",
  };
}

/** kubectl's arguments for `target`: its context (if any) and namespace, then `args`. */
export function kubectlArgs(target: DevTarget, ...args: string[]): string[] {
  const context = target.context === "" ? [] : ["--context", target.context];
  return [...context, "--namespace", target.namespace, ...args];
}
