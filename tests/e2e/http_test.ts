/**
 * The operator's HTTP port end to end: `main.ts serve` (local runtime) in its own process;
 * `/healthz`, `/readyz`, the gRPC health service, and `/metrics` read by a Prometheus text parser
 * with its values checked after known activity (calls answered OK and INVALID_ARGUMENT, workers
 * that succeed and one that fails).
 */

import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import { readUntil } from "../support/grpc.ts";
import { histogram, scrape, valueOf } from "../support/prometheus.ts";
import { startServerProcess } from "../support/server_process.ts";

function scaleUp(client: OttoscalerServiceClient, req: ScaleRequest) {
  return unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), req);
}

/** grpc.health.v1.Health/Check of `service` at `address`. */
export function healthCheck(address: string, service = ""): Promise<string> {
  const definition = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String });
  // deno-lint-ignore no-explicit-any
  const Health = (grpc.loadPackageDefinition(definition) as any).grpc.health.v1.Health;
  const client = new Health(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.Check({ service }, (err: grpc.ServiceError | null, res: { status: string }) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    });
  });
}

Deno.test("the HTTP port: probes and metrics after known activity (local runtime)", async (t) => {
  const server = await startServerProcess();
  const client = connect(server.address);
  try {
    await t.step("/healthz and /readyz answer ok; gRPC health is SERVING", async () => {
      for (const path of ["/healthz", "/readyz"]) {
        const res = await fetch(`${server.httpUrl}${path}`);
        assert.equal(res.status, 200, path);
        assert.equal(await res.text(), "ok\n");
      }
      assert.equal(await healthCheck(server.address), "SERVING");
      const missing = await fetch(`${server.httpUrl}/nothing`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    await t.step("/metrics parses, and every required family is there", async () => {
      const { families } = await scrape(server.httpUrl);
      for (
        const name of [
          "ottoscaler_grpc_requests_total",
          "ottoscaler_grpc_request_duration_seconds",
          "ottoscaler_workers",
          "ottoscaler_worker_starts_total",
          "ottoscaler_worker_failures_total",
          "ottoscaler_worker_start_duration_seconds",
          "ottoscaler_push_unacknowledged_lines",
          "ottoscaler_push_connected",
          "ottoscaler_kube_requests_total",
          "ottoscaler_kube_watch_restarts_total",
          "ottoscaler_pipeline_stages_total",
          "ottoscaler_leader",
          "process_resident_memory_bytes",
          "process_cpu_seconds_total",
        ]
      ) assert.ok(families.has(name), `missing ${name}`);
      assert.ok(valueOf(families, "process_resident_memory_bytes") > 1_000_000);
      assert.ok(valueOf(families, "process_cpu_seconds_total") > 0);
      assert.equal(valueOf(families, "ottoscaler_leader"), 1, "no election: always the leader");
      assert.equal(valueOf(families, "ottoscaler_workers", { phase: "running" }), 0);
    });

    await t.step(
      "after 3 workers (one failing) and a refused call, the values add up",
      async () => {
        const ended = readUntil(
          client.WatchWorkerEvents({ task_id: "metrics-ok" }),
          (events) => events.filter((e) => e.status === "COMPLETED").length === 2,
        );
        const failed = readUntil(
          client.WatchWorkerEvents({ task_id: "metrics-bad" }),
          (events) => events.some((e) => e.status === "FAILED"),
        );
        await scaleUp(client, {
          task_id: "metrics-ok",
          worker_count: 2,
          build_config: { command: "echo fine" },
        });
        await scaleUp(client, {
          task_id: "metrics-bad",
          worker_count: 1,
          build_config: { command: "exit 3" },
        });
        await assert.rejects(
          scaleUp(client, { task_id: "metrics-ok", worker_count: 0, build_config: {} }),
          (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT,
        );
        await Promise.all([ended, failed]);
        const { families, text } = await scrape(server.httpUrl);
        const calls = (code: string) =>
          valueOf(families, "ottoscaler_grpc_requests_total", { method: "ScaleUp", code });
        assert.equal(calls("OK"), 2);
        assert.equal(calls("INVALID_ARGUMENT"), 1);
        const duration = histogram(text, "ottoscaler_grpc_request_duration_seconds", {
          method: "ScaleUp",
        });
        assert.equal(duration.count, 3);
        assert.equal(valueOf(families, "ottoscaler_workers", { phase: "succeeded" }), 2);
        assert.equal(valueOf(families, "ottoscaler_workers", { phase: "failed" }), 1);
        assert.equal(valueOf(families, "ottoscaler_worker_starts_total"), 3);
        assert.equal(valueOf(families, "ottoscaler_worker_failures_total", { reason: "Error" }), 1);
        const starts = histogram(text, "ottoscaler_worker_start_duration_seconds");
        assert.equal(starts.count, 3);
        // The health checks of the first step were counted by the same interceptor.
        assert.ok(
          valueOf(families, "ottoscaler_grpc_requests_total", {
            method: "Check",
            code: "OK",
          }) >= 1,
        );
      },
    );
  } finally {
    client.close();
    assert.equal(await server.stop(), 0);
  }
});
