/**
 * `deno task status`: the env files, the local control plane, a local Ottoscaler on each env
 * file's port, and which of kind, docker and kubectl are installed.
 *
 * @module
 */

import { readControlPlane } from "../control_plane/env.ts";
import { devNames, parseEnvFile } from "./env_files.ts";
import { apiserverReady, listening } from "./local_cluster.ts";
import { type DevCommand, envFiles, helpText, parseInvocation, which } from "./shared.ts";

const USAGE = "status [--dir DIR]";

/** `status`. */
export const status: DevCommand = {
  name: "status",
  usage: USAGE,
  summary: "env files, local control plane, local Ottoscaler, kind/docker/kubectl",
  help: helpText(
    USAGE,
    "Shows which env files exist, whether the local control plane answers (/readyz),\n" +
      "whether something listens on each env file's GRPC_PORT (and 9090), and which of kind,\n" +
      "docker and kubectl are on PATH.\n",
  ),
  async run(args, out) {
    const inv = parseInvocation(args, 0);
    if (inv.help) {
      out.line(this.help);
      return 0;
    }
    const names = await envFiles(inv.dir);
    out.line(
      `Env files (${inv.dir}): ${
        names.length === 0 ? "none" : names.map((n) => devNames(n).envFile).join(", ")
      }`,
    );

    const plane = await readControlPlane();
    if (plane === undefined) {
      out.line(`Local control plane: not started (deno task dev-cluster)`);
    } else {
      const ready = await apiserverReady(plane);
      out.line(
        `Local control plane: ${ready ? "running" : "NOT answering"} at ${plane.server}` +
          (ready ? ` (KUBECONFIG=${plane.kubeconfig})` : ""),
      );
    }

    for (const port of await grpcPorts(inv.dir, names)) {
      const up = await listening(port);
      out.line(`Ottoscaler on 127.0.0.1:${port}: ${up ? "answering (TCP)" : "not running"}`);
    }

    for (const tool of ["kind", "docker", "kubectl"]) {
      out.line(`${tool}: ${which(tool) ?? "missing"}`);
    }
    return 0;
  },
};

/** 9090 and every `GRPC_PORT` the env files name. */
async function grpcPorts(dir: string, names: string[]): Promise<number[]> {
  const ports = new Set<number>([9090]);
  for (const name of names) {
    const vars = parseEnvFile(await Deno.readTextFile(`${dir}/${devNames(name).envFile}`));
    const port = Number(vars.GRPC_PORT);
    if (Number.isInteger(port) && port > 0 && port < 65536) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}
