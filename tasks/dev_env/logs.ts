/**
 * `deno task logs [NAME]`: follows the deployed Ottoscaler's log with kubectl.
 *
 * @module
 */

import {
  DEPLOYMENT,
  type DevCommand,
  helpText,
  kubectlArgs,
  loadTarget,
  NAME_HELP,
  parseInvocation,
  requireTools,
  run,
} from "./shared.ts";

const USAGE = "logs [NAME] [--dir DIR]";

/** `logs`. */
export const logs: DevCommand = {
  name: "logs",
  usage: USAGE,
  summary: "kubectl logs -f deployment/ottoscaler in NAME's namespace",
  help: helpText(USAGE, "Follows the deployed Ottoscaler's log (needs kubectl).\n" + NAME_HELP),
  async run(args, out) {
    const inv = parseInvocation(args, 1);
    if (inv.help) {
      out.line(this.help);
      return 0;
    }
    const target = await loadTarget(inv);
    requireTools("show the logs", "kubectl");
    const kubectl = kubectlArgs(target, "logs", "--follow", `deployment/${DEPLOYMENT}`);
    return await run(out, "kubectl", kubectl) === 0 ? 0 : 1;
  },
};
