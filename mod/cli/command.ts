/**
 * The small command framework shared by Ottoscaler's CLI (`mod/cli/commands.ts`) and the
 * developer tasks (`tasks/dev_env/`): a command has a name, a one-line summary and a `--help`
 * text, parses its own arguments, writes through an injected {@linkcode Output} and resolves with
 * its exit code; a bad command line throws a {@linkcode UsageError} (exit code 2).
 *
 * @module
 */

/** Thrown for a bad command line; the message says what is wrong. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Where a command writes; injected so tests can capture it. */
export interface Output {
  /** Writes one line to standard output. */
  line(text: string): void;
}

/** A command. */
export interface Command {
  /** The command's name. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  /** Runs it; resolves with the exit code. */
  run(args: string[], out: Output): Promise<number>;
}

/**
 * Whether `err` is the `TypeError` that `node:util`'s `parseArgs` throws for an unknown or
 * malformed flag (a usage error: exit code 2).
 */
export function isParseArgsError(err: unknown): err is TypeError {
  return err instanceof TypeError &&
    String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
}
