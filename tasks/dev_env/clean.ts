/**
 * `deno task clean [NAME]`: removes the developer's env file, local state dir and kind cluster,
 * and their namespace on the local control plane.
 *
 * @module
 */

import type { Output } from "../../mod/cli/command.ts";
import { devNames } from "./env_files.ts";
import { deleteNamespace, localCluster } from "./local_cluster.ts";
import {
  capture,
  type DevCommand,
  errorText,
  Failure,
  helpText,
  NAME_HELP,
  parseInvocation,
  resolveName,
  run,
  which,
} from "./shared.ts";

const USAGE = "clean [NAME] [--dir DIR]";

/** `clean`. */
export const clean: DevCommand = {
  name: "clean",
  usage: USAGE,
  summary: "remove NAME's env file, state dir .ottoscaler/NAME and kind cluster",
  help: helpText(
    USAGE,
    "Removes .env.NAME.local and .ottoscaler/NAME, deletes the kind cluster ottoscaler-NAME\n" +
      "(if kind is installed) and the namespace NAME-dev on the local control plane (if it runs).\n" +
      NAME_HELP,
  ),
  async run(args, out) {
    const inv = parseInvocation(args, 1);
    if (inv.help) {
      out.line(this.help);
      return 0;
    }
    const names = devNames(await resolveName(inv));
    const envFile = `${inv.dir}/${names.envFile}`;
    out.line(await removePath(envFile) ? `removed ${envFile}` : `${envFile}: not there`);

    const stateDir = `${inv.dir}/${names.stateDir}`;
    out.line(await removePath(stateDir) ? `removed ${stateDir}` : `${stateDir}: not there`);

    await cleanKind(names.kindCluster, out);
    await cleanLocal(names.namespace, out);
    return 0;
  },
};

async function removePath(path: string): Promise<boolean> {
  try {
    await Deno.remove(path, { recursive: true });
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function cleanKind(cluster: string, out: Output): Promise<void> {
  if (which("kind") === undefined) {
    out.line(`kind not found on PATH: no kind cluster to delete`);
    return;
  }
  const clusters = await capture("kind", ["get", "clusters"]);
  if (!clusters.stdout.split("\n").includes(cluster)) {
    out.line(`kind cluster ${cluster}: not there`);
  } else if (await run(out, "kind", ["delete", "cluster", "--name", cluster]) !== 0) {
    throw new Failure(`kind delete cluster --name ${cluster} failed`);
  }
}

/** Deletes the namespace `setup-user` created on the local control plane, if that one answers. */
async function cleanLocal(namespace: string, out: Output): Promise<void> {
  const local = await localCluster();
  if ("problem" in local) return;
  try {
    const deleted = await deleteNamespace(local.kc, namespace);
    out.line(
      deleted
        ? `deleting namespace ${namespace} on the local control plane (${local.server})`
        : `namespace ${namespace} on the local control plane: not there`,
    );
  } catch (err) {
    out.line(`local control plane (${local.server}) not answering: ${errorText(err)}`);
  }
}
