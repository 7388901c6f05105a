/**
 * Where the local control plane is: the `env` file `tasks/control_plane/up.sh` writes into
 * `<dev dir>/control-plane/` (`KEY=value` lines), read in one place for the tests
 * (`tests/support/cluster.ts`) and the developer tasks (`tasks/dev_env/`).
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url).pathname;

/** Where the running control plane is, from its `env` file. */
export interface ControlPlane {
  /** The admin kubeconfig. */
  readonly kubeconfig: string;
  /** https://127.0.0.1:<port> of kube-apiserver. */
  readonly server: string;
  /** PEM path of the cluster CA. */
  readonly caCert: string;
  /** PEM path of the admin client certificate. */
  readonly clientCert: string;
  /** PEM path of the admin client key. */
  readonly clientKey: string;
  /** Directory for per-pod log files (CRI format) that kwok `Logs` objects point to. */
  readonly podLogDir: string;
  /** How many simulated nodes there are. */
  readonly nodeCount: number;
}

/** The dev dir of the control plane: `OTTOSCALER_DEV_DIR` (if set and not empty) or `<repo>/.dev`. */
export function devDir(): string {
  return Deno.env.get("OTTOSCALER_DEV_DIR") || `${ROOT}.dev`;
}

/**
 * Reads `<dir>/control-plane/env` (`dir` defaults to {@linkcode devDir}); `undefined` if there is
 * none (the control plane was never started there, or was stopped).
 */
export async function readControlPlane(dir: string = devDir()): Promise<ControlPlane | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/control-plane/env`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return {
    kubeconfig: env.OTTOSCALER_KUBECONFIG ?? `${dir}/kubeconfig`,
    server: env.OTTOSCALER_APISERVER,
    caCert: env.OTTOSCALER_CA_CERT,
    clientCert: env.OTTOSCALER_CLIENT_CERT,
    clientKey: env.OTTOSCALER_CLIENT_KEY,
    podLogDir: env.OTTOSCALER_POD_LOG_DIR,
    nodeCount: Number(env.OTTOSCALER_NODE_COUNT),
  };
}
