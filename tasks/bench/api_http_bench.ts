/**
 * How fast N pod creates are acknowledged by the local control plane's API server, by client:
 * undici over HTTP/1.1 (what Ottoscaler's Kubernetes client uses), undici with `allowH2` (HTTP/2
 * where the server offers it), and Deno's own fetch (HTTP/2 by ALPN), each at a few fixed
 * numbers of requests in flight. It answers whether HTTP/2 to the API server is worth it on Deno.
 *
 * Each run creates its pods in a fresh namespace and deletes them afterwards. It asserts nothing.
 *
 * Usage: deno run -A tasks/bench/api_http_bench.ts [--pods N] [--inflight 16,64,1000]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Agent, fetch as undiciFetch } from "undici";
import { ensureCluster } from "../../tests/support/cluster.ts";
import { loadConfig } from "../../mod/config/config.ts";
import { BenchKube } from "./kube_client.ts";
import { workerPods } from "./worker_pods.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    pods: { type: "string", default: "1000" },
    inflight: { type: "string", default: "16,64,1000" },
  },
});
const PODS = Number(values.pods);
const IN_FLIGHT = values.inflight.split(",").map(Number);

const cluster = await ensureCluster();
const kube = await BenchKube.open(cluster);
const [ca, cert, key] = await Promise.all(
  [cluster.caCert, cluster.clientCert, cluster.clientKey].map((p) => Deno.readTextFile(p)),
);
const config = loadConfig({ env: {} });

/** Sends one POST; resolves with its HTTP status and which protocol answered, if known. */
type Post = (url: string, body: string) => Promise<number>;

function undiciPost(allowH2: boolean): { post: Post; close: () => Promise<void> } {
  const agent = new Agent({ connect: { ca, cert, key }, allowH2 });
  return {
    post: async (url, body) => {
      const res = await undiciFetch(url, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", accept: "application/json" },
        dispatcher: agent,
      });
      await res.arrayBuffer();
      return res.status;
    },
    close: () => agent.close(),
  };
}

function denoPost(): { post: Post; close: () => Promise<void> } {
  const client = Deno.createHttpClient({ caCerts: [ca], cert, key });
  return {
    post: async (url, body) => {
      const res = await fetch(url, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", accept: "application/json" },
        client,
      });
      await res.arrayBuffer();
      return res.status;
    },
    close: () => Promise.resolve(client.close()),
  };
}

/** Creates PODS pods with at most `limit` in flight; resolves with seconds and failures. */
async function run(post: Post, limit: number): Promise<{ seconds: number; failed: number }> {
  const ns = `http-bench-${crypto.randomUUID().slice(0, 8)}`;
  await kube.createNamespace(ns);
  const bodies = workerPods(config, ns, { taskId: "http", workers: PODS }).map((p) =>
    JSON.stringify(p)
  );
  const url = `${cluster.server}/api/v1/namespaces/${ns}/pods`;
  let next = 0;
  let failed = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(limit, PODS) }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const status = await post(url, body).catch(() => 0);
      if (status < 200 || status > 299) failed++;
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  await kube.deletePods(ns, "app=otto-agent");
  await kube.deleteNamespace(ns);
  return { seconds, failed };
}

const clients: [string, () => { post: Post; close: () => Promise<void> }][] = [
  ["undici HTTP/1.1", () => undiciPost(false)],
  ["undici allowH2", () => undiciPost(true)],
  ["Deno fetch (h2)", denoPost],
];
console.log(`${PODS} pod creates acknowledged, by client and requests in flight\n`);
console.log(
  `${"client".padEnd(18)}${IN_FLIGHT.map((n) => `${n} in flight`.padStart(16)).join("")}`,
);
try {
  for (const [name, make] of clients) {
    const cells: string[] = [];
    for (const limit of IN_FLIGHT) {
      const client = make();
      try {
        const { seconds, failed } = await run(client.post, limit);
        cells.push(`${seconds.toFixed(2)} s${failed ? ` (${failed} failed)` : ""}`.padStart(16));
      } catch (err) {
        cells.push(`error: ${String(err).slice(0, 60)}`.padStart(16));
      } finally {
        await client.close();
      }
    }
    console.log(`${name.padEnd(18)}${cells.join("")}`);
  }
} finally {
  kube.close();
}
