/**
 * `deno task k8s-status [NAME]`: the Ottoscaler deployment and the worker pods in the
 * developer's namespace, with kubectl, else straight from the local control plane's API.
 *
 * @module
 */

import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import type { Output } from "../../mod/cli/command.ts";
import { formatAge, formatTable } from "./env_files.ts";
import { localCluster, statusOf } from "./local_cluster.ts";
import {
  DEPLOYMENT,
  type DevCommand,
  Failure,
  helpText,
  kubectlArgs,
  loadTarget,
  NAME_HELP,
  parseInvocation,
  run,
  which,
  WORKER_SELECTOR,
} from "./shared.ts";

const USAGE = "k8s-status [NAME] [--dir DIR]";

/** `k8s-status`. */
export const k8sStatus: DevCommand = {
  name: "k8s-status",
  usage: USAGE,
  summary: "the deployment and the worker pods in NAME's namespace",
  help: helpText(
    USAGE,
    `Shows deployment/${DEPLOYMENT} and the pods labelled ${WORKER_SELECTOR} with kubectl;\n` +
      "without kubectl, asks the local control plane directly (NAME PHASE NODE AGE).\n" + NAME_HELP,
  ),
  async run(args, out) {
    const inv = parseInvocation(args, 1);
    if (inv.help) {
      out.line(this.help);
      return 0;
    }
    const target = await loadTarget(inv);
    if (which("kubectl") !== undefined) {
      const deployment = await run(
        out,
        "kubectl",
        kubectlArgs(target, "get", "deployment", DEPLOYMENT),
      );
      const pods = await run(
        out,
        "kubectl",
        kubectlArgs(target, "get", "pods", "--selector", WORKER_SELECTOR, "--output", "wide"),
      );
      return deployment === 0 && pods === 0 ? 0 : 1;
    }
    const local = await localCluster();
    if ("problem" in local) {
      throw new Failure(`kubectl not found on PATH, and no local control plane: ${local.problem}.`);
    }
    out.line(
      `kubectl not found on PATH; asking the local control plane (${local.server}) directly.`,
    );
    await printDeployment(local.kc, target.namespace, out);
    await printWorkerPods(local.kc, target.namespace, out);
    return 0;
  },
};

async function printDeployment(kc: KubeConfig, namespace: string, out: Output): Promise<void> {
  try {
    const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({
      name: DEPLOYMENT,
      namespace,
    });
    const ready = d.status?.readyReplicas ?? 0;
    out.line(`deployment/${DEPLOYMENT} in ${namespace}: ${ready}/${d.spec?.replicas ?? 1} ready`);
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
    out.line(`deployment/${DEPLOYMENT} in ${namespace}: not deployed`);
  }
}

async function printWorkerPods(kc: KubeConfig, namespace: string, out: Output): Promise<void> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({
    namespace,
    labelSelector: WORKER_SELECTOR,
  });
  if (list.items.length === 0) {
    out.line(`No worker pods (${WORKER_SELECTOR}) in ${namespace}.`);
    return;
  }
  const now = Date.now();
  const rows = list.items.map((pod: V1Pod) => [
    pod.metadata?.name ?? "",
    pod.metadata?.deletionTimestamp ? "Terminating" : pod.status?.phase ?? "",
    pod.spec?.nodeName ?? "",
    pod.metadata?.creationTimestamp
      ? formatAge(now - new Date(pod.metadata.creationTimestamp).getTime())
      : "",
  ]);
  out.line(formatTable(["NAME", "PHASE", "NODE", "AGE"], rows).trimEnd());
}
