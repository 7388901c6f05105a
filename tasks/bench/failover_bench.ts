/**
 * Failover benchmark (`deno task bench --only failover`): two `serve` processes on the Kubernetes
 * runtime (local control plane) elect a leader on a Lease with the defaults (lease 15 s, renew
 * deadline 10 s, retry 2 s); the leader is killed with SIGKILL (no release: a crashed node) and
 * the figures are the time from the kill to
 *
 * - **ready**: the standby's `/readyz` answering 200 (it holds the Lease, its cache is synced);
 * - **first pod**: a ScaleUp of one worker sent to it at that moment answered (the pod created).
 *
 * Each round starts a fresh standby beside the surviving leader. What bounds the figure is the
 * lease: the standby may only take a lease whose record has not changed for its whole duration,
 * judged on its own clock from when it last saw it change (client-go's rule), plus up to one
 * retry period to notice. It prints figures; it asserts nothing.
 *
 * Usage: deno task bench --only failover [--rounds N]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import { connectKube } from "../../mod/kube/api.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import { ensureCluster } from "../../tests/support/cluster.ts";
import { type ServerProcess, startServerProcess } from "../../tests/support/server_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "3" } },
});
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 20) {
  throw new Error(`--rounds must be an integer from 1 to 20, got ${values.rounds}`);
}

const now = () => performance.now();
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Waits until `check` holds, polling every 50 ms; throws after `limitMs`. */
async function until(check: () => Promise<boolean>, what: string, limitMs: number) {
  const end = now() + limitMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readyz(server: ServerProcess): Promise<{ status: number; body: string }> {
  const res = await fetch(`${server.httpUrl}/readyz`);
  return { status: res.status, body: await res.text() };
}

function identity(server: ServerProcess): string {
  return server.logs().match(/"msg":"campaigning for the leader lease".*?"identity":"([^"]+)"/)
    ?.[1] ?? "?";
}

const cluster = await ensureCluster();
const api = connectKube({ kubeconfig: cluster.kubeconfig });
const namespace = `failover-${crypto.randomUUID().slice(0, 8)}`;
await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
const env = {
  WORKER_RUNTIME: "kubernetes",
  KUBECONFIG: cluster.kubeconfig,
  NAMESPACE: namespace,
  LEADER_ELECTION: "true",
  LOG_LEVEL: "info",
};
const servers: ServerProcess[] = [];
const start = async () => {
  const server = await startServerProcess({ env });
  servers.push(server);
  return server;
};
const results: { ready: number; pod: number }[] = [];
try {
  let leader = await start();
  await until(
    async () => (await readyz(leader)).status === 200,
    "the first leader is ready",
    60_000,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    const standby = await start();
    await until(
      async () => (await readyz(standby)).body.includes(identity(leader)),
      "the standby sees the leader",
      60_000,
    );
    const killedAt = now();
    await leader.kill();
    await until(
      async () => (await readyz(standby)).status === 200,
      "the standby is ready",
      120_000,
    );
    const readyAt = now();
    const client = connect(standby.address);
    try {
      const res = await unaryCall<ScaleRequest, ScaleResponse__Output>(
        client.ScaleUp.bind(client),
        { task_id: `failover-${round}`, worker_count: 1, build_config: {} },
      );
      if (res.status !== "SUCCESS") {
        throw new Error(`ScaleUp answered ${res.status}: ${res.message}`);
      }
    } finally {
      client.close();
    }
    const podAt = now();
    results.push({ ready: readyAt - killedAt, pod: podAt - killedAt });
    console.log(
      `round ${round}: SIGKILL → standby ready ${secs(readyAt - killedAt)}, ` +
        `→ first pod created ${secs(podAt - killedAt)}`,
    );
    leader = standby;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `\nfailover (lease 15 s, renew deadline 10 s, retry 2 s; ${ROUNDS} round(s)), median: ` +
      `ready ${secs(median(results.map((r) => r.ready)))}, ` +
      `first pod ${secs(median(results.map((r) => r.pod)))}`,
  );
} finally {
  for (const server of servers) await server.stop().catch(() => {});
  await api.remove(`/api/v1/namespaces/${namespace}`).catch(() => {});
}
