/**
 * ExecutePipeline and CancelPipeline over real gRPC, with `main.ts serve` on the local runtime:
 * a streamed diamond, a dropped stream that re-attaches, cancellation, and a restart of
 * Ottoscaler mid-pipeline.
 */

import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { connect } from "../../mod/cli/client.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { PipelineProgress__Output } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import type { PipelineRequest } from "../../proto/generated/ottoscaler/v1/PipelineRequest.ts";
import { readAll, readUntil } from "../support/grpc.ts";
import { cancelPipeline, finalStatuses, workersOf } from "../support/calls.ts";
import { startServerProcess } from "../support/server_process.ts";

const stage = (stage_id: string, script: string, depends_on: string[] = []) => ({
  stage_id,
  worker_count: 1,
  depends_on,
  command: ["sh", "-c", script],
});

/** Reads progress until `until` holds for a message, then drops the stream (a client going away). */
function readProgressUntil(
  client: OttoscalerServiceClient,
  request: PipelineRequest,
  until: (p: PipelineProgress__Output) => boolean,
): Promise<PipelineProgress__Output[]> {
  return readUntil<PipelineProgress__Output>(
    client.ExecutePipeline(request),
    (items) => until(items.at(-1)!),
  );
}

Deno.test("pipelines over gRPC", async (t) => {
  let server = await startServerProcess();
  let client = connect(server.address);
  try {
    await t.step("a diamond streams every transition and ends when it is finished", async () => {
      const progress = await readAll(client.ExecutePipeline({
        pipeline_id: "diamond",
        stages: [
          stage("build", "echo build"),
          stage("unit", "echo unit", ["build"]),
          stage("lint", "echo lint", ["build"]),
          stage("deploy", "echo deploy", ["unit", "lint"]),
        ],
      }));
      assert.deepEqual(finalStatuses(progress), {
        build: "STAGE_COMPLETED",
        unit: "STAGE_COMPLETED",
        lint: "STAGE_COMPLETED",
        deploy: "STAGE_COMPLETED",
      });
      const deploy = progress.filter((p) => p.stage_id === "deploy").at(-1)!;
      assert.equal(deploy.progress_percentage, 100);
      assert.equal(deploy.metrics?.successful_workers, 1);
      assert.deepEqual(deploy.worker_pod_names, ["otto-agent-diamond-deploy-a1-1"]);
    });

    await t.step(
      "a dropped stream leaves the pipeline running; asking again re-attaches",
      async () => {
        const request = {
          pipeline_id: "dropped",
          stages: [stage("slow", "sleep 1; echo done"), stage("next", "true", ["slow"])],
        };
        const first = await readProgressUntil(client, request, (p) => p.status === "STAGE_RUNNING");
        assert.equal(first.at(-1)!.stage_id, "slow");
        const rest = await readAll(client.ExecutePipeline(request));
        assert.deepEqual(
          rest.slice(0, 2).map((p) => p.stage_id),
          ["slow", "next"],
          "snapshot first",
        );
        assert.deepEqual(finalStatuses(rest), { slow: "STAGE_COMPLETED", next: "STAGE_COMPLETED" });
        assert.equal((await workersOf(client, "dropped-slow-a1")).total_count, 1, "run once");
      },
    );

    await t.step("CancelPipeline stops running stages and skips the rest", async () => {
      const request = {
        pipeline_id: "cancel-me",
        stages: [stage("long", "sleep 60"), stage("after", "true", ["long"])],
      };
      const watching = readAll(client.ExecutePipeline(request));
      // Cancel once the long stage runs (seen through a second, re-attached stream).
      await readProgressUntil(
        client,
        request,
        (p) => p.stage_id === "long" && p.status === "STAGE_RUNNING",
      );
      assert.equal((await cancelPipeline(client, "cancel-me")).cancelled, true);
      assert.deepEqual(finalStatuses(await watching), {
        long: "STAGE_CANCELLED",
        after: "STAGE_SKIPPED",
      });
      const stopped = await workersOf(client, "cancel-me-long-a1");
      assert.equal(stopped.workers[0].status, "failed");
      assert.match(stopped.workers[0].error_message, /Stopped/);
      assert.equal((await cancelPipeline(client, "cancel-me")).cancelled, false);
      await assert.rejects(cancelPipeline(client, "no-such-pipeline"), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.NOT_FOUND);
        return true;
      });
    });

    await t.step(
      "a restart of Ottoscaler mid-pipeline continues it without re-running",
      async () => {
        const request = {
          pipeline_id: "survivor",
          stages: [
            stage("one", "echo one"),
            stage("two", "sleep 2", ["one"]),
            stage("three", "echo three", ["two"]),
          ],
        };
        await readProgressUntil(
          client,
          request,
          (p) => p.stage_id === "two" && p.status === "STAGE_RUNNING",
        );
        client.close();
        assert.equal(await server.stop(), 0);
        server = await startServerProcess({ stateDir: server.stateDir });
        client = connect(server.address);
        const rest = await readAll(client.ExecutePipeline(request));
        assert.deepEqual(finalStatuses(rest), {
          one: "STAGE_COMPLETED",
          two: "STAGE_COMPLETED",
          three: "STAGE_COMPLETED",
        });
        assert.equal((await workersOf(client, "survivor-one-a1")).total_count, 1);
        assert.equal((await workersOf(client, "survivor-two-a1")).total_count, 1);
        assert.equal((await workersOf(client, "survivor-two-a2")).total_count, 0);
      },
    );
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true }).catch(() => {});
  }
});
