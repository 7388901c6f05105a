/**
 * The local control plane for tests: makes sure it runs (starting it with
 * `tasks/control_plane/up.sh`, which builds and caches the binaries on a first run) and tells
 * where it is. A test that needs it calls {@linkcode ensureCluster}; if the control plane cannot
 * start, the test fails with the script's output. It never skips.
 *
 * @module
 */

import { type ControlPlane, devDir, readControlPlane } from "../../tasks/control_plane/env.ts";

export { devDir };

const ROOT = new URL("../../", import.meta.url).pathname;

/** Where the running control plane is, from its `env` file. */
export type Cluster = ControlPlane;

let started: Promise<Cluster> | undefined;

/** Starts the control plane if it is not running (idempotent), once per process. */
export function ensureCluster(): Promise<Cluster> {
  started ??= start();
  return started;
}

async function start(): Promise<Cluster> {
  const out = await new Deno.Command("bash", {
    args: [`${ROOT}tasks/control_plane/up.sh`],
    env: { OTTOSCALER_DEV_DIR: devDir() },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr);
    throw new Error(`the local control plane did not start (tasks/control_plane/up.sh):\n${text}`);
  }
  const cluster = await readControlPlane();
  if (cluster === undefined) {
    throw new Error(`up.sh succeeded but wrote no ${devDir()}/control-plane/env`);
  }
  return cluster;
}
