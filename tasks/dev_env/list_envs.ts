/**
 * `deno task list-envs`: the `.env.<name>.local` files with their NAMESPACE, KUBE_CONTEXT and
 * WORKER_RUNTIME.
 *
 * @module
 */

import { devNames, type EnvSummary, formatEnvList, summarizeEnvFile } from "./env_files.ts";
import { type DevCommand, envFiles, helpText, parseInvocation } from "./shared.ts";

const USAGE = "list-envs [--dir DIR]";

/** `list-envs`. */
export const listEnvs: DevCommand = {
  name: "list-envs",
  usage: USAGE,
  summary: "list the .env.*.local files with their namespace, context and runtime",
  help: helpText(
    USAGE,
    "Lists every .env.<name>.local with its NAMESPACE, KUBE_CONTEXT and WORKER_RUNTIME.\n",
  ),
  async run(args, out) {
    const inv = parseInvocation(args, 0);
    if (inv.help) {
      out.line(this.help);
      return 0;
    }
    const summaries: EnvSummary[] = [];
    for (const name of await envFiles(inv.dir)) {
      const file = devNames(name).envFile;
      const summary = summarizeEnvFile(file, await Deno.readTextFile(`${inv.dir}/${file}`));
      if (summary !== undefined) summaries.push(summary);
    }
    if (summaries.length === 0) {
      out.line(`No .env.<name>.local files in ${inv.dir}. Create one: deno task setup-user <name>`);
      return 0;
    }
    out.line(formatEnvList(summaries).trimEnd());
    return 0;
  },
};
