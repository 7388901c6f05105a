/**
 * Ottoscaler's configuration: every setting with its environment variable, its flag, its default
 * and its rule, in one table that also produces `--help` and the README's table.
 *
 * Precedence, highest first: command-line flags, the process environment, the `--env-file`
 * file, the defaults. A bad value stops start-up with a message naming the variable.
 *
 * @module
 */

import { parseEnv } from "node:util";
import { KUBE_SETTINGS } from "./settings_kube.ts";
import { PUSH_SETTINGS } from "./settings_push.ts";
import { SERVER_SETTINGS } from "./settings_server.ts";
import { WORKER_SETTINGS } from "./settings_workers.ts";
import type { Config, Setting } from "./types.ts";

export type { Config, RuntimeKind, Setting } from "./types.ts";

/** Thrown for a bad setting; names the variable (and the flag). */
export class ConfigError extends Error {
  /** The environment variable of the setting. */
  readonly variable: string;
  /** Creates the error for `variable`. */
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

/** Every setting, in the order of --help and the README table. */
export const SETTINGS: readonly Setting[] = [
  ...SERVER_SETTINGS,
  ...WORKER_SETTINGS,
  ...PUSH_SETTINGS,
  ...KUBE_SETTINGS,
];

/** Where configuration comes from. */
export interface ConfigSources {
  /** The process environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Flags given on the command line, by flag name. */
  readonly flags?: Readonly<Record<string, string | undefined>>;
  /** The text of an env file (KEY=value lines), if one was given. */
  readonly envFileText?: string;
}

/** Builds the configuration; throws {@linkcode ConfigError} naming the first bad setting. */
export function loadConfig(sources: ConfigSources): Config {
  let fromFile: Record<string, string> = {};
  if (sources.envFileText !== undefined) {
    fromFile = parseEnv(sources.envFileText) as Record<string, string>;
  }
  const config: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const flagValue = sources.flags?.[setting.flag];
    const raw = flagValue ?? sources.env[setting.env] ?? fromFile[setting.env] ?? setting.default;
    const origin = flagValue !== undefined ? ` (--${setting.flag})` : "";
    try {
      config[setting.key] = setting.parse(raw);
    } catch (err) {
      throw new ConfigError(setting.env + origin, err instanceof Error ? err.message : String(err));
    }
  }
  return config as unknown as Config;
}

/** The settings as `--help` lines. */
export function settingsHelp(): string {
  return SETTINGS.map((s) =>
    `  --${s.flag.padEnd(24)} ${s.env.padEnd(22)} default ${
      s.default === "" ? '""' : s.default
    }\n` +
    `      ${s.doc}`
  ).join("\n");
}

/** The settings as a Markdown table, as the README shows them. */
export function settingsTable(): string {
  const rows = SETTINGS.map((s) =>
    `| \`${s.env}\` | \`--${s.flag}\` | ${
      s.default === "" ? "(empty)" : `\`${s.default}\``
    } | ${s.doc} |`
  );
  return ["| Variable | Flag | Default | Meaning |", "|---|---|---|---|", ...rows].join("\n");
}
