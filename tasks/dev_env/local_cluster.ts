/**
 * The local control plane (`deno task dev-cluster`) as the developer commands see it: its
 * kubeconfig (only when it points at loopback), namespaces created and deleted through the API,
 * and whether its API server and a local Ottoscaler answer.
 *
 * @module
 */

import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { type ControlPlane, devDir } from "../control_plane/env.ts";
import { errorText, exists } from "./shared.ts";

/** A kubeconfig on this machine whose current cluster is on loopback (the local control plane). */
export interface LocalCluster {
  /** The kubeconfig's path. */
  readonly kubeconfig: string;
  /** Its current cluster's server URL. */
  readonly server: string;
  /** The loaded kubeconfig. */
  readonly kc: KubeConfig;
}

const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/;

/**
 * The local control plane's kubeconfig (`KUBECONFIG` if set, else `.dev/kubeconfig`), if it exists
 * and points at loopback: a kubeconfig for a remote cluster is never touched from here.
 */
export async function localCluster(): Promise<LocalCluster | { problem: string }> {
  const kubeconfig = Deno.env.get("KUBECONFIG") || `${devDir()}/kubeconfig`;
  if (!(await exists(kubeconfig))) {
    return { problem: `${kubeconfig} does not exist (start it with: deno task dev-cluster)` };
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(kubeconfig);
  } catch (err) {
    return { problem: `cannot read ${kubeconfig}: ${errorText(err)}` };
  }
  const server = kc.getCurrentCluster()?.server ?? "";
  if (!LOOPBACK.test(server)) {
    return { problem: `${kubeconfig} points at ${server || "no cluster"}, not a local one` };
  }
  return { kubeconfig, server, kc };
}

/** The HTTP status of a client-node error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "number") return code;
  }
  return undefined;
}

/** Creates `namespace` through the API; `"created"` or `"exists"`. */
export async function createNamespace(
  kc: KubeConfig,
  namespace: string,
): Promise<"created" | "exists"> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespace({
      body: {
        metadata: { name: namespace, labels: { "app.kubernetes.io/part-of": "ottoscaler-dev" } },
      },
    });
    return "created";
  } catch (err) {
    if (statusOf(err) === 409) return "exists";
    throw err;
  }
}

/** Asks the local control plane to delete `namespace`; `false` if it did not exist. */
export async function deleteNamespace(kc: KubeConfig, namespace: string): Promise<boolean> {
  try {
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

/** Whether the API server's `/readyz` answers `ok` within 3 seconds, with the admin cert. */
export async function apiserverReady(plane: ControlPlane): Promise<boolean> {
  let client: Deno.HttpClient | undefined;
  try {
    client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(plane.caCert)],
      cert: await Deno.readTextFile(plane.clientCert),
      key: await Deno.readTextFile(plane.clientKey),
    });
    const response = await fetch(`${plane.server}/readyz`, {
      client,
      signal: AbortSignal.timeout(3000),
    });
    const body = await response.text();
    return response.ok && body.trim() === "ok";
  } catch {
    return false;
  } finally {
    client?.close();
  }
}

/** Whether something accepts TCP connections on `127.0.0.1:port` within 1 second. */
export async function listening(port: number): Promise<boolean> {
  const attempt = Deno.connect({ hostname: "127.0.0.1", port }).then((conn) => {
    conn.close();
    return true;
  }, () => false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 1000);
  });
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
