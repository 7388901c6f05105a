/**
 * `deno task image`: builds the container image from the Dockerfile (needs Docker).
 *
 * @module
 */

import {
  type DevCommand,
  Failure,
  helpText,
  IMAGE,
  parseInvocation,
  ROOT,
  run,
  which,
} from "./shared.ts";

const USAGE = "image";

/** `image`. */
export const image: DevCommand = {
  name: "image",
  usage: USAGE,
  summary: `docker build -t ${IMAGE} .`,
  help: helpText(
    USAGE,
    `Builds the container image ${IMAGE} from the Dockerfile (needs Docker).\n`,
  ),
  async run(args, out) {
    const inv = parseInvocation(args, 0);
    if (inv.help) {
      out.line(this.help);
      return 0;
    }
    if (which("docker") === undefined) {
      throw new Failure(
        "docker not found on PATH: cannot build the image. Install Docker, or build on a machine " +
          `that has it: docker build -t ${IMAGE} .`,
      );
    }
    return await run(out, "docker", ["build", "-t", IMAGE, ROOT]) === 0 ? 0 : 1;
  },
};
