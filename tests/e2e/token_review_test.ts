/**
 * Kubernetes service-account tokens against a real API server (the local control plane): tokens
 * minted with the TokenRequest API for an allowed and a disallowed service account (and one for
 * another audience) are checked by `serve` with the TokenReview API; an unreachable API server
 * fails closed with a clear message.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { connectKube } from "../../mod/kube/api.ts";
import { ensureCluster } from "../support/cluster.ts";
import { authMetadata, callStatus, type RawCall } from "../support/raw_calls.ts";
import { startServerProcess } from "../support/server_process.ts";

const SCALE_UP: RawCall = {
  path: "/ottoscaler.v1.OttoscalerService/ScaleUp",
  kind: "unary",
  request: { task_id: "sa-task", worker_count: 1, build_config: { command: "true" } },
};
const STATUS: RawCall = {
  path: "/ottoscaler.v1.OttoscalerService/GetWorkerStatus",
  kind: "unary",
  request: {},
};

Deno.test({
  name: "service-account tokens are checked with TokenReview on a real API server",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const cluster = await ensureCluster();
    const api = connectKube({ kubeconfig: cluster.kubeconfig });
    const ns = `tokens-${crypto.randomUUID().slice(0, 8)}`;
    await api.create("/api/v1/namespaces", { metadata: { name: ns } });
    const mint = async (account: string, audience?: string): Promise<string> => {
      const answer = await api.create<{ status: { token: string } }>(
        `/api/v1/namespaces/${ns}/serviceaccounts/${account}/token`,
        {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 600, ...(audience ? { audiences: [audience] } : {}) },
        },
      );
      return answer.status.token;
    };
    for (const name of ["otto-handler", "dashboard", "stranger"]) {
      await api.create(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name } });
    }
    const server = await startServerProcess({
      env: {
        KUBECONFIG: cluster.kubeconfig,
        KUBE_CONTEXT: "",
        AUTH_SERVICE_ACCOUNTS: `${ns}:otto-handler=operator,${ns}:dashboard=viewer`,
        AUTH_TOKEN_AUDIENCE: "ottoscaler",
      },
    });
    const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
    try {
      await t.step("allowed, unlisted, other-audience and forged tokens", async () => {
        const handler = await mint("otto-handler", "ottoscaler");
        const dashboard = await mint("dashboard", "ottoscaler");
        const stranger = await mint("stranger", "ottoscaler");
        const apiAudience = await mint("otto-handler");
        const [header, payload] = handler.split(".");
        const forged = `${header}.${payload}.${btoa("not the signature").replaceAll("=", "")}`;
        const table: [string, string, RawCall, grpc.status, RegExp][] = [
          ["otto-handler", handler, SCALE_UP, grpc.status.OK, /^$/],
          ["dashboard reads", dashboard, STATUS, grpc.status.OK, /^$/],
          [
            "dashboard scales",
            dashboard,
            SCALE_UP,
            grpc.status.PERMISSION_DENIED,
            /serviceaccount:.*:dashboard \(role viewer\) may not call/,
          ],
          [
            "stranger",
            stranger,
            STATUS,
            grpc.status.PERMISSION_DENIED,
            new RegExp(`service account ${ns}:stranger is not in AUTH_SERVICE_ACCOUNTS`),
          ],
          [
            "the API server's audience",
            apiAudience,
            STATUS,
            grpc.status.UNAUTHENTICATED,
            /the bearer token is not known/,
          ],
          ["forged", forged, STATUS, grpc.status.UNAUTHENTICATED, /not known/],
        ];
        for (const [name, token, call, code, message] of table) {
          const result = await callStatus(client, call, authMetadata(`Bearer ${token}`));
          assert.equal(result.code, code, `${name}: ${result.details}`);
          assert.match(result.details, message, name);
        }
        assert.match(
          server.logs(),
          new RegExp(`"msg":"call".*"caller":"serviceaccount:${ns}:otto-handler"`),
        );
      });

      await t.step("an unreachable API server fails closed, saying so", async () => {
        const text = await Deno.readTextFile(cluster.kubeconfig);
        const dead = await Deno.makeTempFile({ suffix: ".kubeconfig" });
        // A port nothing listens on (the API server's own, plus one, is not guaranteed free).
        const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = (listener.addr as Deno.NetAddr).port;
        listener.close();
        await Deno.writeTextFile(dead, text.replace(cluster.server, `https://127.0.0.1:${port}`));
        const closed = await startServerProcess({
          env: {
            KUBECONFIG: dead,
            KUBE_CONTEXT: "",
            AUTH_SERVICE_ACCOUNTS: `${ns}:otto-handler=operator`,
          },
        });
        const c = new grpc.Client(closed.address, grpc.credentials.createInsecure());
        try {
          const token = await mint("otto-handler", "ottoscaler");
          const result = await callStatus(c, SCALE_UP, authMetadata(`Bearer ${token}`));
          assert.equal(result.code, grpc.status.UNAVAILABLE, result.details);
          assert.match(
            result.details,
            /^cannot verify the service-account token: the Kubernetes API server did not answer/,
          );
        } finally {
          c.close();
          assert.equal(await closed.stop(), 0);
          await Deno.remove(closed.stateDir, { recursive: true }).catch(() => {});
          await Deno.remove(dead);
        }
      });
    } finally {
      client.close();
      assert.equal(await server.stop(), 0);
      await Deno.remove(server.stateDir, { recursive: true }).catch(() => {});
      await api.remove(`/api/v1/namespaces/${ns}`).catch(() => {});
    }
  },
});
