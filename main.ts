/**
 * Ottoscaler's entry point: `serve` runs the orchestrator (mod/serve/serve.ts wires its parts);
 * the other commands are a CLI that talks to a running one over gRPC.
 *
 * @module
 */

import { ConfigError } from "./mod/config/config.ts";
import { type Command, isParseArgsError, UsageError } from "./mod/cli/command.ts";

// `serve` and the CLI's commands load each other's modules only when used (literal paths, so
// `deno compile` includes them): a server holds no CLI code (the yaml parser, the client), and a
// CLI command no server (memory, issue 14; tests/static_graph_test.ts).
const loadCommands = async (): Promise<readonly Command[]> =>
  (await import("./mod/cli/commands.ts")).COMMANDS;

/** The version printed by `ottoscaler version`. */
export const VERSION = "0.1.0";

function usage(all: readonly Command[]): string {
  const commands = all.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join("\n");
  return `Ottoscaler ${VERSION}: runs CI/CD workers as Kubernetes pods or local processes.

Usage: ottoscaler <command> [flags]

Commands:
  serve        run Ottoscaler (gRPC API and worker runtime)
${commands}
  version      print the version
  help         this help

Run "ottoscaler <command> --help" for a command's flags.`;
}

/** Runs the command line; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const out = { line: (text: string) => console.log(text) };
  try {
    switch (name) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(usage(await loadCommands()));
        return name === undefined ? 2 : 0;
      case "version":
      case "--version":
        console.log(VERSION);
        return 0;
      case "serve":
        return await (await import("./mod/serve/serve.ts")).serve(rest, VERSION);
    }
    const command = (await loadCommands()).find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command "${name}"; run "ottoscaler help"`);
    return await command.run(rest, out);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    if (isParseArgsError(err)) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    const { describeGrpcError, isUnavailable, refusalHint } = await import("./mod/cli/client.ts");
    console.error(`error: ${describeGrpcError(err)}`);
    if (isUnavailable(err)) {
      console.error("hint: is Ottoscaler running there? Start it with: deno task dev");
    }
    const hint = refusalHint(err);
    if (hint) console.error(hint);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
