/**
 * Stage types on the Kubernetes runtime (local control plane, KWOK playing the kubelet; see
 * pipeline_kube_test.ts): APPROVAL stages run no pods and wait, also across a killed Ottoscaler
 * whose successor has an empty STATE_DIR (the wait is in the pipeline's ConfigMap); approval and
 * rejection; CLEANUP and NOTIFY after a failed stage; the type on every pod's labels.
 */

import assert from "node:assert/strict";
import { connect } from "../../mod/cli/client.ts";
import { approveStage } from "../../mod/cli/pipeline.ts";
import { connectKube, type PodObject } from "../../mod/kube/api.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { PipelineProgress__Output } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import type { PipelineStage } from "../../proto/generated/ottoscaler/v1/PipelineStage.ts";
import { ensureCluster } from "../support/cluster.ts";
import { readAll, readUntil } from "../support/grpc.ts";
import { finalStatuses } from "../support/calls.ts";
import { type ServerProcess, startServerProcess } from "../support/server_process.ts";

const work = (
  stage_id: string,
  type: PipelineStage["type"],
  depends_on: string[] = [],
  config: Record<string, string> = {},
): PipelineStage => ({
  stage_id,
  type,
  worker_count: 1,
  depends_on,
  image: "busybox:1.36",
  config,
});
const approval = (stage_id: string, depends_on: string[] = []): PipelineStage => ({
  stage_id,
  type: "STAGE_TYPE_APPROVAL",
  worker_count: 0,
  depends_on,
});

Deno.test("stage types on the Kubernetes runtime (local control plane)", async (t) => {
  const cluster = await ensureCluster();
  const api = connectKube({ kubeconfig: cluster.kubeconfig });
  const namespace = `e2e-types-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  const servers: ServerProcess[] = [];
  const serve = async () => {
    const server = await startServerProcess({
      env: {
        WORKER_RUNTIME: "kubernetes",
        KUBECONFIG: cluster.kubeconfig,
        NAMESPACE: namespace,
        OTTO_AGENT_IMAGE: "registry.example/otto-agent:e2e",
      },
    });
    servers.push(server);
    return { server, client: connect(server.address) };
  };
  let { server, client } = await serve();
  const pods = async (pipeline: string) =>
    (await api.list<PodObject>(`/api/v1/namespaces/${namespace}/pods`, {
      labelSelector: `managed-by=ottoscaler,ottoscaler.io/pipeline=${pipeline}`,
    })).items;
  const watch = (c: OttoscalerServiceClient, id: string) =>
    readAll<PipelineProgress__Output>(c.WatchPipeline({ pipeline_id: id }));
  try {
    await t.step(
      "approval waits across a killed Ottoscaler; cleanup and notify run after a failure",
      async () => {
        const id = "typed";
        const request = {
          pipeline_id: id,
          stages: [
            work("setup", "STAGE_TYPE_SETUP"),
            work("build", "STAGE_TYPE_BUILD", ["setup"], { OTTO_SIM_EXIT_CODE: "1" }),
            work("tidy", "STAGE_TYPE_CLEANUP", ["build"]),
            work("tell", "STAGE_TYPE_NOTIFY", ["tidy"]),
            approval("gate", ["setup"]),
            work("deploy", "STAGE_TYPE_DEPLOY", ["gate"]),
            approval("veto", ["setup"]),
            work("after", "STAGE_TYPE_CUSTOM", ["veto"]),
          ],
        };
        await readUntil<PipelineProgress__Output>(
          client.ExecutePipeline(request),
          (items) =>
            ["gate", "veto", "tell"].every((s) =>
              items.some((p) => p.stage_id === s && p.status !== "STAGE_PENDING")
            ) && items.some((p) => p.stage_id === "tell" && p.status === "STAGE_COMPLETED"),
        );
        client.close();
        await server.kill(); // SIGKILL while both approvals wait

        ({ server, client } = await serve());
        const waiting = await readUntil<PipelineProgress__Output>(
          client.WatchPipeline({ pipeline_id: id }),
          (items) => items.length >= request.stages.length,
        );
        const now = finalStatuses(waiting);
        assert.equal(now.gate, "STAGE_RUNNING", "still waiting after the restart");
        assert.equal(now.veto, "STAGE_RUNNING");
        assert.match(waiting.find((p) => p.stage_id === "gate")!.message, /waiting for approval/);

        const ok = await approveStage(client, {
          pipeline_id: id,
          stage_id: "gate",
          approved: true,
          approver: "ann",
          comment: "go",
        });
        assert.equal(ok.status, "STAGE_COMPLETED");
        await approveStage(client, {
          pipeline_id: id,
          stage_id: "veto",
          approved: false,
          approver: "bob",
          comment: "no",
        });
        const progress = await watch(client, id);
        assert.deepEqual(finalStatuses(progress), {
          setup: "STAGE_COMPLETED",
          build: "STAGE_FAILED",
          tidy: "STAGE_COMPLETED",
          tell: "STAGE_COMPLETED",
          gate: "STAGE_COMPLETED",
          deploy: "STAGE_COMPLETED",
          veto: "STAGE_FAILED",
          after: "STAGE_SKIPPED",
        });
        const veto = progress.findLast((p) => p.stage_id === "veto")!;
        assert.equal(veto.error_message, "rejected by bob: no");

        const labels = Object.fromEntries(
          (await pods(id)).map((p) => [
            p.metadata.labels?.["ottoscaler.io/stage"],
            p.metadata.labels?.["ottoscaler.io/stage-type"],
          ]),
        );
        assert.deepEqual(labels, {
          setup: "setup",
          build: "build",
          tidy: "cleanup",
          tell: "notify",
          deploy: "deploy",
        }, "one pod per worker stage, none for the approvals or the skipped stage");
      },
    );
  } finally {
    client.close();
    for (const s of servers) await s.stop().catch(() => {});
    for (const s of servers) await Deno.remove(s.stateDir, { recursive: true }).catch(() => {});
    await api.remove(`/api/v1/namespaces/${namespace}`).catch(() => {});
  }
});
