/**
 * `deno task setup-user NAME`: writes the developer's env file and creates their kind cluster and
 * namespace (with kind and Docker), else their namespace on the local control plane.
 *
 * @module
 */

import { type Output, UsageError } from "../../mod/cli/command.ts";
import { devNames, nameProblem, renderEnvFile } from "./env_files.ts";
import { createNamespace, localCluster } from "./local_cluster.ts";
import {
  capture,
  type DevCommand,
  errorText,
  exists,
  Failure,
  helpText,
  type Invocation,
  parseInvocation,
  requireTools,
  run,
  which,
} from "./shared.ts";

const USAGE = "setup-user NAME [--force] [--dir DIR]";

/** `setup-user`. */
export const setupUser: DevCommand = {
  name: "setup-user",
  usage: USAGE,
  summary: "write .env.NAME.local; create kind cluster ottoscaler-NAME and namespace NAME-dev",
  help: helpText(
    USAGE,
    "Writes .env.NAME.local (WORKER_RUNTIME=kubernetes, KUBE_CONTEXT=kind-ottoscaler-NAME,\n" +
      "NAMESPACE=NAME-dev, GRPC_PORT=9090, LOG_LEVEL=debug, STATE_DIR=.ottoscaler/NAME). With kind\n" +
      "and Docker it creates the kind cluster ottoscaler-NAME (if absent) and the namespace.\n" +
      "Without them it creates the namespace on the local control plane (deno task dev-cluster;\n" +
      "KUBECONFIG, else .dev/kubeconfig) if that runs. NAME: a DNS label, at most 38 characters.\n" +
      "  --force     overwrite an existing env file that differs\n",
  ),
  async run(args, out) {
    const inv = parseInvocation(args, 1);
    if (inv.help) {
      out.line(this.help);
      return 0;
    }
    const name = inv.args[0];
    if (name === undefined) throw new UsageError("setup-user needs a name");
    const problem = nameProblem(name);
    if (problem !== undefined) throw new UsageError(`invalid name '${name}': ${problem}`);
    const names = devNames(name);
    await writeEnvFile(inv, name, out);

    if (which("kind") !== undefined && which("docker") !== undefined) {
      await setupKind(names.kindCluster, names.kubeContext, names.namespace, out);
      out.line(`\nStart Ottoscaler against it: deno task dev --env-file ${names.envFile}`);
      return 0;
    }
    const missing = ["kind", "docker"].filter((tool) => which(tool) === undefined);
    out.line(
      `\n${
        missing.join(" and ")
      } not found on PATH (kind needs Docker): no kind cluster was created.` +
        `\nThe env file was written anyway.`,
    );
    await setupLocal(names.namespace, names.envFile, out);
    return 0;
  },
};

async function writeEnvFile(inv: Invocation, name: string, out: Output): Promise<void> {
  const path = `${inv.dir}/${devNames(name).envFile}`;
  const text = renderEnvFile(name);
  if (await exists(path)) {
    if ((await Deno.readTextFile(path)) === text) {
      out.line(`${path} is up to date`);
      return;
    }
    if (!inv.force) {
      out.line(`${path} exists and differs; kept it (--force overwrites it)`);
      return;
    }
  }
  await Deno.writeTextFile(path, text);
  out.line(`wrote ${path}`);
}

async function setupKind(
  cluster: string,
  context: string,
  namespace: string,
  out: Output,
): Promise<void> {
  const clusters = await capture("kind", ["get", "clusters"]);
  if (clusters.stdout.split("\n").includes(cluster)) {
    out.line(`kind cluster ${cluster} exists`);
  } else if (await run(out, "kind", ["create", "cluster", "--name", cluster]) !== 0) {
    throw new Failure(`kind create cluster --name ${cluster} failed`);
  }
  requireTools(`create the namespace ${namespace}`, "kubectl");
  const get = await capture("kubectl", ["--context", context, "get", "namespace", namespace]);
  if (get.code === 0) {
    out.line(`namespace ${namespace} exists`);
  } else if (
    await run(out, "kubectl", ["--context", context, "create", "namespace", namespace]) !== 0
  ) {
    throw new Failure(`creating the namespace ${namespace} failed`);
  }
}

async function setupLocal(namespace: string, envFile: string, out: Output): Promise<void> {
  const local = await localCluster();
  if ("problem" in local) {
    out.line(
      `No local control plane either: ${local.problem}.\n` +
        `Without Docker, start one with \`deno task dev-cluster\` (etcd, kube-apiserver,\n` +
        `kube-scheduler and simulated nodes) and run this again to create ${namespace} there.`,
    );
    return;
  }
  try {
    const result = await createNamespace(local.kc, namespace);
    out.line(
      `${result === "created" ? "Created" : "Found"} namespace ${namespace} on the local control ` +
        `plane (${local.server}).`,
    );
  } catch (err) {
    out.line(
      `The local control plane (${local.kubeconfig}) did not answer: ${errorText(err)}.\n` +
        `Start it with \`deno task dev-cluster\` and run this again to create ${namespace} there.`,
    );
    return;
  }
  out.line(
    `Use it instead of a kind cluster (no KUBE_CONTEXT: the kubeconfig's own context):\n` +
      `  KUBECONFIG=${local.kubeconfig} KUBE_CONTEXT= deno task dev --env-file ${envFile}`,
  );
}
