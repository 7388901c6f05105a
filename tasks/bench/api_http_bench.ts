/**
 * How fast N pod creates are acknowledged by the local control plane's API server, by client:
 * undici over HTTP/1.1, undici with `allowH2` (HTTP/2 where the server offers it), and Deno's own
 * fetch (HTTP/2 by ALPN, and HTTP/1.1 only), each at a few fixed numbers of requests in flight,
 * with the client's CPU seconds. It answers whether HTTP/2 to the API server is worth it on Deno,
 * and what each client costs per request.
 *
 * Each run creates its pods in a fresh namespace and deletes them afterwards. It asserts nothing.
 *
 * Usage: deno run -A tasks/bench/api_http_bench.ts [--pods N] [--inflight 16,64,1000]
 * [--clients N,...] (the clients' numbers in the table, from 1; default all)
 *
 * @module
 */

import { cpuUsage } from "node:process";
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
    clients: { type: "string" },
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

function denoPost(http2: boolean): { post: Post; close: () => Promise<void> } {
  const client = Deno.createHttpClient({ caCerts: [ca], cert, key, http2, http1: true });
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

/**
 * Creates PODS pods with at most `limit` in flight; resolves with seconds, this process's CPU
 * seconds meanwhile, and failures.
 */
async function run(
  post: Post,
  limit: number,
): Promise<{ seconds: number; cpu: number; failed: number }> {
  const ns = `http-bench-${crypto.randomUUID().slice(0, 8)}`;
  await kube.createNamespace(ns);
  const bodies = workerPods(config, ns, { taskId: "http", workers: PODS }).map((p) =>
    JSON.stringify(p)
  );
  const url = `${cluster.server}/api/v1/namespaces/${ns}/pods`;
  let next = 0;
  let failed = 0;
  const start = performance.now();
  const cpuBefore = cpuUsage();
  await Promise.all(Array.from({ length: Math.min(limit, PODS) }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const status = await post(url, body).catch(() => 0);
      if (status < 200 || status > 299) failed++;
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  const used = cpuUsage(cpuBefore);
  const cpu = (used.user + used.system) / 1e6;
  await kube.deletePods(ns, "app=otto-agent");
  await kube.deleteNamespace(ns);
  return { seconds, cpu, failed };
}

const clients: [string, () => { post: Post; close: () => Promise<void> }][] = [
  ["undici HTTP/1.1", () => undiciPost(false)],
  ["undici allowH2", () => undiciPost(true)],
  ["Deno fetch (h2)", () => denoPost(true)],
  ["Deno fetch HTTP/1.1", () => denoPost(false)],
];
console.log(
  `${PODS} pod creates acknowledged, by client and requests in flight ` +
    `(in parentheses: this process's CPU seconds meanwhile)\n`,
);
console.log(
  `${"client".padEnd(20)}${IN_FLIGHT.map((n) => `${n} in flight`.padStart(20)).join("")}`,
);
try {
  const chosen = values.clients?.split(",").map((n) => clients[Number(n) - 1]) ?? clients;
  for (const [name, make] of chosen.filter((c) => c !== undefined)) {
    const cells: string[] = [];
    for (const limit of IN_FLIGHT) {
      const client = make();
      try {
        const { seconds, cpu, failed } = await run(client.post, limit);
        const text = `${seconds.toFixed(2)} s (${cpu.toFixed(2)})`;
        cells.push(`${text}${failed ? ` (${failed} failed)` : ""}`.padStart(20));
      } catch (err) {
        cells.push(`error: ${String(err).slice(0, 60)}`.padStart(16));
      } finally {
        await client.close();
      }
    }
    console.log(`${name.padEnd(20)}${cells.join("")}`);
  }
} finally {
  kube.close();
}
