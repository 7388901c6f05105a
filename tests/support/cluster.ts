/**
 * The local control plane for tests: makes sure it runs (starting it with
 * `tasks/control_plane/up.sh`, which builds and caches the binaries on a first run) and tells
 * where it is. A test that needs it calls {@linkcode ensureCluster}; if the control plane cannot
 * start, the test fails with the script's output. It never skips.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url).pathname;

/** Where the running control plane is, from its `env` file. */
export interface Cluster {
  /** The admin kubeconfig. */
  readonly kubeconfig: string;
  /** https://127.0.0.1:<port> of kube-apiserver. */
  readonly server: string;
  /** PEM paths of the cluster CA and the admin client certificate and key. */
  readonly caCert: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** Directory for per-pod log files (CRI format) that kwok `Logs` objects point to. */
  readonly podLogDir: string;
  /** How many simulated nodes there are. */
  readonly nodeCount: number;
}

let started: Promise<Cluster> | undefined;

/** The dev dir of the control plane: `OTTOSCALER_DEV_DIR` or `<repo>/.dev`. */
export function devDir(): string {
  return Deno.env.get("OTTOSCALER_DEV_DIR") ?? `${ROOT}.dev`;
}

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
  const env: Record<string, string> = {};
  const text = await Deno.readTextFile(`${devDir()}/control-plane/env`);
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return {
    kubeconfig: env.OTTOSCALER_KUBECONFIG,
    server: env.OTTOSCALER_APISERVER,
    caCert: env.OTTOSCALER_CA_CERT,
    clientCert: env.OTTOSCALER_CLIENT_CERT,
    clientKey: env.OTTOSCALER_CLIENT_KEY,
    podLogDir: env.OTTOSCALER_POD_LOG_DIR,
    nodeCount: Number(env.OTTOSCALER_NODE_COUNT),
  };
}
