/**
 * ExecutePipeline and CancelPipeline over real gRPC with `main.ts serve` on the Kubernetes runtime
 * (WORKER_RUNTIME=kubernetes) against the local control plane (kube-apiserver, etcd,
 * kube-scheduler, KWOK nodes), in a fresh namespace: the scenarios of pipeline_test.ts, plus what
 * only Kubernetes shows (pods, their labels and owner, the pipeline's ConfigMap).
 *
 * KWOK plays the kubelet (tasks/control_plane/stages.yaml); a stage's config is its workers'
 * environment, so it says how a simulated worker runs: OTTO_SIM_DURATION (default 1s),
 * OTTO_SIM_EXIT_CODE, and OTTO_SIM_FAIL_ATTEMPTS=N (attempts 1..N fail, later ones succeed).
 */

import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { connect } from "../../mod/cli/client.ts";
import {
  PIPELINE_ID_ANNOTATION,
  PIPELINE_STATE_SELECTOR,
  pipelineConfigMapName,
  STATE_KEY,
} from "../../mod/pipeline/configmap_store.ts";
import type { PipelineState } from "../../mod/pipeline/state.ts";
import {
  type ConfigMapObject,
  connectKube,
  type KubeApi,
  type PodObject,
} from "../../mod/kube/api.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { PipelineProgress__Output } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import type { PipelineRequest } from "../../proto/generated/ottoscaler/v1/PipelineRequest.ts";
import type { PipelineStage } from "../../proto/generated/ottoscaler/v1/PipelineStage.ts";
import { ensureCluster } from "../support/cluster.ts";
import { readAll, readUntil } from "../support/grpc.ts";
import { cancelPipeline, finalStatuses, workersOf } from "../support/calls.ts";
import { type ServerProcess, startServerProcess } from "../support/server_process.ts";

/** The image of stages that name none (the server's OTTO_AGENT_IMAGE); KWOK pulls nothing. */
const AGENT_IMAGE = "registry.example/otto-agent:e2e";

/** A stage of one simulated worker; `config` sets how it runs (OTTO_SIM_*). */
const stage = (
  stage_id: string,
  depends_on: string[] = [],
  extra: Partial<PipelineStage> = {},
): PipelineStage => ({
  stage_id,
  worker_count: 1,
  depends_on,
  image: "busybox:1.36",
  command: ["sh", "-c", `echo ${stage_id}`],
  ...extra,
});

/** The last progress of each stage. */
function lastOf(progress: PipelineProgress__Output[]): Record<string, PipelineProgress__Output> {
  const out: Record<string, PipelineProgress__Output> = {};
  for (const p of progress) out[p.stage_id] = p;
  return out;
}

/** Rejects when `promise` takes longer than `seconds` (a hung stream fails, it does not hang). */
function within<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no end within ${seconds}s`)),
      seconds * 1e3,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Reads a pipeline's progress to its end. */
function runToEnd(
  client: OttoscalerServiceClient,
  request: PipelineRequest,
  seconds = 60,
): Promise<PipelineProgress__Output[]> {
  return within(
    readAll<PipelineProgress__Output>(client.ExecutePipeline(request)),
    seconds,
    `pipeline ${request.pipeline_id}`,
  );
}

/** Reads progress until `until` holds for a message, then drops the stream (a client going away). */
function readProgressUntil(
  client: OttoscalerServiceClient,
  request: PipelineRequest,
  until: (p: PipelineProgress__Output) => boolean,
): Promise<PipelineProgress__Output[]> {
  return within(
    readUntil<PipelineProgress__Output>(
      client.ExecutePipeline(request),
      (items) => until(items.at(-1)!),
    ),
    60,
    `progress of ${request.pipeline_id}`,
  );
}

/** The cluster as the test sees it: pods and pipeline ConfigMaps of one namespace. */
function clusterView(api: KubeApi, namespace: string) {
  const ns = `/api/v1/namespaces/${namespace}`;
  return {
    /** Worker pods, all or of one pipeline (by its `ottoscaler.io/pipeline` label). */
    async pods(pipeline?: string): Promise<PodObject[]> {
      const selector = pipeline === undefined
        ? "managed-by=ottoscaler"
        : `managed-by=ottoscaler,ottoscaler.io/pipeline=${pipeline}`;
      return (await api.list<PodObject>(`${ns}/pods`, { labelSelector: selector })).items;
    },
    /** Pod names of one pipeline, sorted. */
    async podNames(pipeline: string): Promise<string[]> {
      return (await this.pods(pipeline)).map((p) => p.metadata.name).sort();
    },
    /** Every pipeline ConfigMap. */
    async configMaps(): Promise<ConfigMapObject[]> {
      return (await api.list<ConfigMapObject>(`${ns}/configmaps`, {
        labelSelector: PIPELINE_STATE_SELECTOR,
      })).items;
    },
    /** A pipeline's ConfigMap and the state in it. */
    async stored(pipeline: string): Promise<{ cm: ConfigMapObject; state: PipelineState }> {
      const cm = await api.get<ConfigMapObject>(
        `${ns}/configmaps/${pipelineConfigMapName(pipeline)}`,
      );
      return { cm, state: JSON.parse(cm.data![STATE_KEY]) as PipelineState };
    },
  };
}

async function rejectsWith(promise: Promise<unknown>, code: grpc.status, details: RegExp) {
  await assert.rejects(promise, (err: grpc.ServiceError) => {
    assert.equal(err.code, code, `${err.code}: ${err.details}`);
    assert.match(err.details, details);
    return true;
  });
}

Deno.test("pipelines over gRPC on the Kubernetes runtime (local control plane)", async (t) => {
  const cluster = await ensureCluster();
  const api = connectKube({ kubeconfig: cluster.kubeconfig });
  const namespace = `e2e-pipeline-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  const view = clusterView(api, namespace);
  const servers: ServerProcess[] = [];
  // Each server gets a new, empty STATE_DIR: in Kubernetes mode no state may come from there.
  const serve = async () => {
    const server = await startServerProcess({
      env: {
        WORKER_RUNTIME: "kubernetes",
        KUBECONFIG: cluster.kubeconfig,
        NAMESPACE: namespace,
        START_FAILURE_GRACE_SECONDS: "2",
        OTTO_AGENT_IMAGE: AGENT_IMAGE,
      },
    });
    servers.push(server);
    return { server, client: connect(server.address) };
  };
  let { server, client } = await serve();
  try {
    await t.step("every refusal names the stage and the rule; nothing is created", async () => {
      const refused: [string, PipelineStage[], RegExp][] = [
        [
          "duplicate stage ids",
          [stage("build"), stage("build")],
          /^stages\[1\]\.stage_id: "build" is used by another stage/,
        ],
        [
          "unknown depends_on",
          [stage("build"), stage("test", ["bild"])],
          /^stages\[test\]\.depends_on: names unknown stage "bild"/,
        ],
        [
          "cycle",
          [stage("build", ["deploy"]), stage("deploy", ["build"])],
          /^stages\[build\]\.depends_on: forms a cycle: build → deploy → build/,
        ],
        [
          "worker_count 0",
          [stage("build", [], { worker_count: 0 })],
          /^stages\[build\]\.worker_count: must be an integer from 1 to 100, got 0/,
        ],
        [
          "worker_count 101",
          [stage("build", [], { worker_count: 101 })],
          /^stages\[build\]\.worker_count: must be an integer from 1 to 100, got 101/,
        ],
        [
          "max_attempts out of range",
          [stage("build", [], { retry_policy: { max_attempts: 11 } })],
          /^stages\[build\]\.retry_policy\.max_attempts: must be an integer from 0 to 10, got 11/,
        ],
        [
          "unknown failure class",
          [stage("build", [], { retry_policy: { max_attempts: 2, retryable_failures: ["oom"] } })],
          /^stages\[build\]\.retry_policy\.retryable_failures\[0\]: "oom" is not a failure class/,
        ],
        [
          "nothing to run",
          [stage("build"), stage("test", ["build"], { image: "", command: [] })],
          /^stages\[test\]\.command: is required when no image is given/,
        ],
        [
          "a variable Ottoscaler sets",
          [stage("build", [], { config: { OTTO_ATTEMPT: "9" } })],
          /^stages\[build\]\.config\.OTTO_ATTEMPT: is reserved/,
        ],
      ];
      for (const [name, stages, details] of refused) {
        await rejectsWith(
          runToEnd(client, { pipeline_id: "refused", stages }),
          grpc.status.INVALID_ARGUMENT,
          details,
        ).catch((err) => {
          throw new Error(`${name}: ${err.message}`);
        });
      }
      assert.equal((await workersOf(client, "refused-build-a1")).total_count, 0);
      assert.deepEqual(await view.pods(), [], "no pod was created");
      assert.deepEqual(await view.configMaps(), [], "no pipeline ConfigMap was created");
      await rejectsWith(
        cancelPipeline(client, "refused"),
        grpc.status.NOT_FOUND,
        /Pipeline "refused" not found/,
      );
    });

    await t.step("a diamond: every stage completes after its dependencies", async () => {
      const id = "diamond";
      const progress = await runToEnd(client, {
        pipeline_id: id,
        stages: [
          stage("build"),
          stage("unit", ["build"], { worker_count: 2 }),
          stage("lint", ["build"], { config: { OTTO_SIM_DURATION: "2s" } }),
          // No image: the server's OTTO_AGENT_IMAGE.
          stage("deploy", ["unit", "lint"], { image: "" }),
        ],
      });
      assert.deepEqual(finalStatuses(progress), {
        build: "STAGE_COMPLETED",
        unit: "STAGE_COMPLETED",
        lint: "STAGE_COMPLETED",
        deploy: "STAGE_COMPLETED",
      });
      const last = lastOf(progress);
      const at = (iso: string) => {
        assert.ok(iso, "a timestamp");
        return Date.parse(iso);
      };
      assert.ok(at(last.unit.started_at) >= at(last.build.completed_at));
      assert.ok(at(last.lint.started_at) >= at(last.build.completed_at));
      assert.ok(
        at(last.deploy.started_at) >=
          Math.max(at(last.unit.completed_at), at(last.lint.completed_at)),
      );
      assert.ok(at(last.lint.started_at) < at(last.unit.completed_at), "unit and lint overlapped");
      assert.equal(last.deploy.progress_percentage, 100);
      assert.equal(last.unit.metrics?.successful_workers, 2);
      assert.deepEqual(last.unit.worker_pod_names, [
        "otto-agent-diamond-unit-a1-1",
        "otto-agent-diamond-unit-a1-2",
      ]);

      const { cm, state } = await view.stored(id);
      assert.equal(cm.metadata.annotations?.[PIPELINE_ID_ANNOTATION], id);
      assert.deepEqual(
        Object.fromEntries(Object.entries(state.stages).map(([s, st]) => [s, st.status])),
        finalStatuses(progress),
        "the ConfigMap holds the final state",
      );
      const pods = await view.pods(id);
      assert.deepEqual(pods.map((p) => p.metadata.name).sort(), [
        "otto-agent-diamond-build-a1-1",
        "otto-agent-diamond-deploy-a1-1",
        "otto-agent-diamond-lint-a1-1",
        "otto-agent-diamond-unit-a1-1",
        "otto-agent-diamond-unit-a1-2",
      ]);
      for (const pod of pods) {
        const labels = pod.metadata.labels ?? {};
        const stageId = pod.metadata.name.match(/^otto-agent-diamond-(\w+)-a1-\d$/)![1];
        assert.equal(labels["ottoscaler.io/pipeline"], id);
        assert.equal(labels["ottoscaler.io/stage"], stageId);
        assert.equal(labels["ottoscaler.io/attempt"], "1");
        assert.equal(pod.status?.phase, "Succeeded");
        assert.deepEqual(
          (pod.metadata as { ownerReferences?: unknown[] }).ownerReferences,
          [{ apiVersion: "v1", kind: "ConfigMap", name: cm.metadata.name, uid: cm.metadata.uid }],
          `${pod.metadata.name} is owned by the pipeline's ConfigMap`,
        );
        const image = (pod.spec?.containers as { image: string }[])[0].image;
        assert.equal(image, stageId === "deploy" ? AGENT_IMAGE : "busybox:1.36");
      }
    });

    await t.step(
      "a failed stage skips its dependents; an independent branch completes",
      async () => {
        const id = "branches";
        const progress = await runToEnd(client, {
          pipeline_id: id,
          stages: [
            stage("a"),
            stage("b", ["a"], { config: { OTTO_SIM_EXIT_CODE: "1" } }),
            stage("c", ["b"]),
            stage("d", ["a"], { config: { OTTO_SIM_DURATION: "2s" } }),
          ],
        });
        assert.deepEqual(finalStatuses(progress), {
          a: "STAGE_COMPLETED",
          b: "STAGE_FAILED",
          c: "STAGE_SKIPPED",
          d: "STAGE_COMPLETED",
        });
        const last = lastOf(progress);
        assert.match(
          last.b.error_message,
          /otto-agent-branches-b-a1-1 failed: Error: exited with code 1/,
        );
        assert.match(last.c.error_message, /dependency "b" failed/);
        assert.equal(last.b.metrics?.failed_workers, 1);
        assert.deepEqual(await view.podNames(id), [
          "otto-agent-branches-a-a1-1",
          "otto-agent-branches-b-a1-1",
          "otto-agent-branches-d-a1-1",
        ], "the skipped stage never ran");
      },
    );

    await t.step("a retry that then succeeds: attempt 2 in names and labels", async () => {
      const id = "flaky";
      const retry = (code: number) => ({
        max_attempts: 3,
        retry_delay_seconds: 0,
        retryable_failures: [`exit_code:${code}`],
      });
      const progress = await runToEnd(client, {
        pipeline_id: id,
        stages: [
          stage("once", [], { config: { OTTO_SIM_FAIL_ATTEMPTS: "1" }, retry_policy: retry(1) }),
          // Two failing attempts with a chosen exit code; a last attempt with none left fails.
          stage("twice", [], {
            config: { OTTO_SIM_FAIL_ATTEMPTS: "2", OTTO_SIM_EXIT_CODE: "3" },
            retry_policy: retry(3),
          }),
          stage("always", [], {
            config: { OTTO_SIM_FAIL_ATTEMPTS: "5" },
            retry_policy: { ...retry(1), max_attempts: 2 },
          }),
        ],
      });
      const seen = (stageId: string) =>
        progress.filter((p) => p.stage_id === stageId).map((p) => p.status);
      assert.deepEqual(seen("once").slice(-3), [
        "STAGE_RETRYING",
        "STAGE_RUNNING",
        "STAGE_COMPLETED",
      ]);
      const retrying = progress.find((p) =>
        p.stage_id === "once" && p.status === "STAGE_RETRYING"
      )!;
      assert.match(retrying.error_message, /once-a1-1 failed: Error: exited with code 1/);
      const last = lastOf(progress);
      assert.deepEqual(last.once.worker_pod_names, ["otto-agent-flaky-once-a2-1"]);
      assert.equal(seen("twice").filter((s) => s === "STAGE_RETRYING").length, 2);
      assert.equal(last.twice.status, "STAGE_COMPLETED");
      assert.deepEqual(last.twice.worker_pod_names, ["otto-agent-flaky-twice-a3-1"]);
      assert.equal(last.always.status, "STAGE_FAILED");
      assert.match(last.always.error_message, /always-a2-1 failed: Error: exited with code 1/);

      const pods = await view.pods(id);
      assert.deepEqual(pods.map((p) => p.metadata.name).sort(), [
        "otto-agent-flaky-always-a1-1",
        "otto-agent-flaky-always-a2-1",
        "otto-agent-flaky-once-a1-1",
        "otto-agent-flaky-once-a2-1",
        "otto-agent-flaky-twice-a1-1",
        "otto-agent-flaky-twice-a2-1",
        "otto-agent-flaky-twice-a3-1",
      ]);
      const byName = new Map(pods.map((p) => [p.metadata.name, p]));
      const exitCode = (pod: PodObject) =>
        pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
      for (
        const [name, attempt, phase, code] of [
          ["once-a1-1", "1", "Failed", 1],
          ["once-a2-1", "2", "Succeeded", 0],
          ["twice-a1-1", "1", "Failed", 3],
          ["twice-a2-1", "2", "Failed", 3],
          ["twice-a3-1", "3", "Succeeded", 0],
        ] as const
      ) {
        const pod = byName.get(`otto-agent-flaky-${name}`)!;
        assert.equal(pod.metadata.labels?.["ottoscaler.io/attempt"], attempt, name);
        assert.equal(pod.status?.phase, phase, name);
        assert.equal(exitCode(pod), code, name);
      }
      const { state } = await view.stored(id);
      assert.equal(state.stages.once.attempt, 2);
      assert.equal(state.stages.twice.attempt, 3);
    });

    await t.step("a stage past its timeout fails saying it timed out", async () => {
      const id = "slowpoke";
      const started = Date.now();
      const progress = await runToEnd(client, {
        pipeline_id: id,
        stages: [stage("slow", [], { timeout_seconds: 1, config: { OTTO_SIM_DURATION: "30s" } })],
      });
      assert.ok(Date.now() - started < 20_000, "ended by the timeout, not the 30s run");
      const last = progress.at(-1)!;
      assert.equal(last.status, "STAGE_FAILED");
      assert.match(last.error_message, /DeadlineExceeded: timed out after 1s/);
      const [pod] = await view.pods(id);
      assert.equal(pod.status?.phase, "Failed");
      assert.equal(pod.status?.reason, "DeadlineExceeded");
    });

    await t.step("CancelPipeline stops the running stage's pods and skips the rest", async () => {
      const id = "cancel-me";
      const request = {
        pipeline_id: id,
        stages: [
          stage("long", [], { worker_count: 2, config: { OTTO_SIM_DURATION: "60s" } }),
          stage("after", ["long"]),
        ],
      };
      // Cancel once both pods of the long stage run (KWOK then plays the kubelet's kill).
      const running = within(
        readUntil(
          client.WatchWorkerEvents({ task_id: "cancel-me-long-a1" }),
          (events) => events.filter((e) => e.status === "RUNNING").length >= 2,
        ),
        30,
        "workers running",
      );
      const watching = runToEnd(client, request);
      await running;
      const started = Date.now();
      assert.equal((await cancelPipeline(client, id)).cancelled, true);
      const progress = await watching;
      assert.ok(Date.now() - started < 30_000, "the 60s workers were cut short");
      assert.deepEqual(finalStatuses(progress), {
        long: "STAGE_CANCELLED",
        after: "STAGE_SKIPPED",
      });
      const stopped = await workersOf(client, "cancel-me-long-a1");
      assert.equal(stopped.total_count, 2);
      for (const w of stopped.workers) {
        assert.equal(w.status, "failed");
        assert.match(w.error_message, /Stopped/);
      }
      const pods = await view.pods(id);
      assert.deepEqual(pods.map((p) => p.metadata.name).sort(), [
        "otto-agent-cancel-me-long-a1-1",
        "otto-agent-cancel-me-long-a1-2",
      ], "the skipped stage never ran");
      for (const pod of pods) {
        assert.equal(pod.status?.phase, "Failed", "its pods ended");
        assert.ok(pod.metadata.annotations?.["ottoscaler.io/stop-requested"], "on request");
        // 143: SIGTERM, as the (simulated) kubelet kills a running container.
        assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 143);
      }
      assert.equal((await view.stored(id)).state.cancelled, true);
      assert.equal((await cancelPipeline(client, id)).cancelled, false, "already finished");
    });

    await t.step("a dropped stream re-attaches: current state, then live progress", async () => {
      const id = "dropped";
      const request = {
        pipeline_id: id,
        stages: [
          stage("slow", [], { config: { OTTO_SIM_DURATION: "3s" } }),
          stage("next", ["slow"]),
        ],
      };
      const first = await readProgressUntil(client, request, (p) => p.status === "STAGE_RUNNING");
      assert.equal(first.at(-1)!.stage_id, "slow");
      const rest = await runToEnd(client, request);
      assert.deepEqual(
        rest.slice(0, 2).map((p) => [p.stage_id, p.status]),
        [["slow", "STAGE_RUNNING"], ["next", "STAGE_PENDING"]],
        "the snapshot first",
      );
      assert.deepEqual(
        rest.slice(2).map((p) => [p.stage_id, p.status]),
        [["slow", "STAGE_COMPLETED"], ["next", "STAGE_RUNNING"], ["next", "STAGE_COMPLETED"]],
        "then each transition as it happens",
      );
      assert.deepEqual(await view.podNames(id), [
        "otto-agent-dropped-next-a1-1",
        "otto-agent-dropped-slow-a1-1",
      ], "no duplicate pods");
    });

    await t.step(
      "killed mid-pipeline, a new Ottoscaler with an empty STATE_DIR finishes it from the cluster",
      async () => {
        const id = "survivor";
        const request = {
          pipeline_id: id,
          stages: [
            stage("one"),
            stage("two", ["one"], { config: { OTTO_SIM_DURATION: "4s" } }),
            stage("three", ["two"]),
          ],
        };
        await readProgressUntil(
          client,
          request,
          (p) => p.stage_id === "two" && p.status === "STAGE_RUNNING",
        );
        // RUNNING is reported before the stage's pods are created (decide, report, then act; and
        // a start first asks whether the namespace has room): wait for the pod to show up.
        let before = await view.pods(id);
        for (let i = 0; i < 600 && before.length < 2; i++) {
          await new Promise((r) => setTimeout(r, 50));
          before = await view.pods(id);
        }
        assert.deepEqual(before.map((p) => p.metadata.name).sort(), [
          "otto-agent-survivor-one-a1-1",
          "otto-agent-survivor-two-a1-1",
        ]);
        client.close();
        await server.kill(); // SIGKILL: no shutdown at all

        ({ server, client } = await serve());
        const rest = await runToEnd(client, request);
        await assert.rejects(
          Deno.stat(`${server.stateDir}/pipelines`),
          Deno.errors.NotFound,
          "nothing about pipelines on disk: the state came from the cluster",
        );
        assert.deepEqual(finalStatuses(rest), {
          one: "STAGE_COMPLETED",
          two: "STAGE_COMPLETED",
          three: "STAGE_COMPLETED",
        });
        assert.ok(
          !rest.some((p) => p.stage_id === "one" && p.status !== "STAGE_COMPLETED"),
          "the completed stage is not run again",
        );
        const after = await view.pods(id);
        assert.deepEqual(after.map((p) => p.metadata.name).sort(), [
          "otto-agent-survivor-one-a1-1",
          "otto-agent-survivor-three-a1-1",
          "otto-agent-survivor-two-a1-1",
        ], "one pod per stage: nothing re-run, nothing duplicated");
        const uid = (pods: PodObject[], name: string) =>
          pods.find((p) => p.metadata.name === name)?.metadata.uid;
        for (const name of ["otto-agent-survivor-one-a1-1", "otto-agent-survivor-two-a1-1"]) {
          assert.equal(uid(after, name), uid(before, name), `${name} is the same pod`);
        }
        const { cm, state } = await view.stored(id);
        assert.deepEqual(
          Object.fromEntries(Object.entries(state.stages).map(([s, st]) => [s, st.status])),
          finalStatuses(rest),
          "the ConfigMap shows the final state",
        );
        const three = after.find((p) => p.metadata.name === "otto-agent-survivor-three-a1-1")!;
        assert.equal(
          (three.metadata as { ownerReferences?: { uid: string }[] }).ownerReferences?.[0]?.uid,
          cm.metadata.uid,
          "the new Ottoscaler's pods are owned by the same ConfigMap",
        );
      },
    );
  } finally {
    client.close();
    for (const s of servers) await s.stop().catch(() => {});
    for (const s of servers) await Deno.remove(s.stateDir, { recursive: true }).catch(() => {});
  }
});
