/**
 * Developer environments: the scripts behind `deno task setup-user`, `list-envs`, `status`,
 * `image`, `deploy`, `logs`, `k8s-status` and `clean`, one file per command in this folder.
 *
 *   deno run --allow-all tasks/dev_env/main.ts <command> [args] [--dir DIR] [--help]
 *
 * Each developer has an env file `.env.<name>.local` (for `deno task dev --env-file`), a
 * namespace `<name>-dev` and, where kind and Docker are installed, a kind cluster
 * `ottoscaler-<name>`. Without kind and Docker the local control plane (`deno task dev-cluster`)
 * stands in. The commands have the shape of the CLI's (`mod/cli/command.ts`). Exit codes: 0 ok,
 * 1 failure, 2 usage.
 *
 * @module
 */

import { isParseArgsError, type Output, UsageError } from "../../mod/cli/command.ts";
import { clean } from "./clean.ts";
import { deploy } from "./deploy.ts";
import { image } from "./image.ts";
import { k8sStatus } from "./k8s_status.ts";
import { listEnvs } from "./list_envs.ts";
import { logs } from "./logs.ts";
import { setupUser } from "./setup_user.ts";
import { type DevCommand, errorText, Failure } from "./shared.ts";
import { status } from "./status.ts";

/** Every developer-environment command, in the order the overview lists them. */
export const COMMANDS: readonly DevCommand[] = [
  setupUser,
  listEnvs,
  status,
  image,
  deploy,
  logs,
  k8sStatus,
  clean,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return "Usage: deno run --allow-all tasks/dev_env/main.ts <command> [args] [--dir DIR]\n" +
    "       (or: deno task <command>)\n\nCommands:\n" + lines.join("\n") +
    "\n\nEvery command takes --help. Exit codes: 0 ok, 1 failure, 2 usage.\n";
}

/** Parses `argv` and runs the command, writing to `out`; the process exit code. */
export async function main(
  argv: string[],
  out: Output = { line: (text) => console.log(text) },
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    out.line(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (command === undefined) throw new UsageError(`unknown command '${name}'`);
    return await command.run(rest, out);
  } catch (err) {
    return report(err, command);
  }
}

function report(err: unknown, command: DevCommand | undefined): number {
  if (err instanceof UsageError || isParseArgsError(err)) {
    console.error(`error: ${err.message}`);
    console.error(command === undefined ? overview() : `usage: deno task ${command.usage}`);
    return 2;
  }
  console.error(`error: ${err instanceof Failure ? err.message : errorText(err)}`);
  return 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
