/**
 * `deno task deploy [NAME]`: loads the image into the developer's kind cluster (for a kind
 * context) and applies `manifests/` in their namespace.
 *
 * @module
 */

import type { Output } from "../../mod/cli/command.ts";
import {
  capture,
  type DevCommand,
  type DevTarget,
  Failure,
  helpText,
  IMAGE,
  kubectlArgs,
  loadTarget,
  NAME_HELP,
  parseInvocation,
  requireTools,
  ROOT,
  run,
} from "./shared.ts";

const USAGE = "deploy [NAME] [--dir DIR]";

/** `deploy`. */
export const deploy: DevCommand = {
  name: "deploy",
  usage: USAGE,
  summary: "load the image into kind and kubectl apply -k manifests/ in NAME's namespace",
  help: helpText(
    USAGE,
    `With a kind context (KUBE_CONTEXT of the env file, or of the environment): kind load\n` +
      `docker-image ${IMAGE}; then creates the namespace if needed and runs\n` +
      "kubectl apply -k manifests/ in it. Needs kubectl (and kind and Docker for kind).\n" +
      NAME_HELP,
  ),
  async run(args, out) {
    const inv = parseInvocation(args, 1);
    if (inv.help) {
      out.line(this.help);
      return 0;
    }
    const target = await loadTarget(inv);
    requireTools(`deploy to ${target.namespace}`, "kubectl");
    await loadImageIntoKind(target, out);

    const ns = await capture("kubectl", kubectlArgs(target, "get", "namespace", target.namespace));
    if (ns.code !== 0) {
      const created = await run(
        out,
        "kubectl",
        kubectlArgs(target, "create", "namespace", target.namespace),
      );
      if (created !== 0) throw new Failure(`creating the namespace ${target.namespace} failed`);
    }
    const applied = await run(
      out,
      "kubectl",
      kubectlArgs(target, "apply", "-k", `${ROOT}/manifests`),
    );
    if (applied !== 0) throw new Failure("kubectl apply -k manifests/ failed");
    out.line(`\nDeployed to ${target.namespace}. Follow it: deno task logs ${target.name}`);
    return 0;
  },
};

/** `kind load docker-image` when the target context is a kind cluster's. */
async function loadImageIntoKind(target: DevTarget, out: Output): Promise<void> {
  if (!target.context.startsWith("kind-")) {
    const context = target.context === "" ? "the kubeconfig's current context" : target.context;
    out.line(
      `${context} is not a kind cluster: no kind load; the cluster must be able to pull ${IMAGE}`,
    );
    return;
  }
  const cluster = target.context.slice("kind-".length);
  requireTools(`load ${IMAGE} into the kind cluster ${cluster}`, "kind", "docker");
  if (await run(out, "kind", ["load", "docker-image", IMAGE, "--name", cluster]) !== 0) {
    throw new Failure(`kind load docker-image failed (build the image first: deno task image)`);
  }
}
