import assert from "node:assert/strict";
import type { ContainerStatusObject, PodObject, PodStatusObject } from "../../kube/api.ts";
import { podToStatus, startProblem } from "./status.ts";

function pod(
  status: PodStatusObject,
  extra: { annotations?: Record<string, string>; deadline?: number; node?: string } = {},
): PodObject {
  return {
    metadata: {
      name: "otto-agent-t-1",
      creationTimestamp: "2026-11-28T10:00:00Z",
      labels: { "ottoscaler.io/index": "1", "ottoscaler.io/task": "t" },
      annotations: { "ottoscaler.io/task-id": "T/1", ...extra.annotations },
    },
    spec: { nodeName: extra.node, activeDeadlineSeconds: extra.deadline },
    status,
  };
}

const waiting = (reason: string, message = `${reason} happened`): ContainerStatusObject => ({
  name: "worker",
  state: { waiting: { reason, message } },
});

const terminated = (exitCode: number, reason = exitCode === 0 ? "Completed" : "Error") => ({
  name: "worker",
  state: {
    terminated: {
      exitCode,
      reason,
      startedAt: "2026-11-28T10:00:01Z",
      finishedAt: "2026-11-28T10:00:05Z",
    },
  },
});

Deno.test("startProblem names each reason a pod cannot start", () => {
  for (const reason of ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"]) {
    assert.deepEqual(
      startProblem(pod({ phase: "Pending", containerStatuses: [waiting(reason)] })),
      {
        reason,
        message: `${reason} happened`,
      },
    );
  }
  assert.equal(
    startProblem(pod({
      phase: "Pending",
      containerStatuses: [waiting("CreateContainerConfigError", 'secret "x" not found')],
    }))?.reason,
    "CreateContainerConfigError",
  );
  assert.deepEqual(
    startProblem(pod({
      phase: "Pending",
      conditions: [{
        type: "PodScheduled",
        status: "False",
        reason: "Unschedulable",
        message: "0/3 nodes are available: 3 Insufficient cpu.",
      }],
    })),
    { reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient cpu." },
  );
});

Deno.test("startProblem says nothing of a pod merely on its way, or running", () => {
  assert.equal(startProblem(pod({ phase: "Pending" })), undefined);
  assert.equal(
    startProblem(pod({ phase: "Pending", containerStatuses: [waiting("ContainerCreating")] })),
    undefined,
  );
  assert.equal(
    startProblem(pod({ phase: "Running", containerStatuses: [waiting("ErrImagePull")] })),
    undefined,
  );
});

Deno.test("podToStatus reads phases, exit codes and the task id annotation", () => {
  const ok = podToStatus(pod({ phase: "Succeeded", containerStatuses: [terminated(0)] }));
  assert.equal(ok.phase, "succeeded");
  assert.equal(ok.reason, "Completed");
  assert.equal(ok.exitCode, 0);
  assert.equal(ok.taskId, "T/1", "the full task id comes from the annotation");
  assert.equal(ok.index, 1);
  assert.equal(ok.startedAt, "2026-11-28T10:00:01Z");
  assert.equal(ok.finishedAt, "2026-11-28T10:00:05Z");

  const bad = podToStatus(pod({ phase: "Failed", containerStatuses: [terminated(3)] }));
  assert.deepEqual([bad.phase, bad.reason, bad.exitCode, bad.message], [
    "failed",
    "Error",
    3,
    "exited with code 3",
  ]);
  const oom = podToStatus(
    pod({ phase: "Failed", containerStatuses: [terminated(137, "OOMKilled")] }),
  );
  assert.equal(oom.message, "exited with code 137 (OOMKilled)");

  assert.equal(podToStatus(pod({ phase: "Pending" })).phase, "pending");
  assert.equal(podToStatus(pod({ phase: "Running" })).phase, "running");
});

Deno.test("podToStatus tells a timeout from a stop", () => {
  const deadline = {
    phase: "Failed",
    reason: "DeadlineExceeded",
    containerStatuses: [terminated(137)],
  };
  const timedOut = podToStatus(pod(deadline, { deadline: 30 }));
  assert.equal(timedOut.reason, "DeadlineExceeded");
  assert.match(timedOut.message ?? "", /timed out after 30s/);
  const stopped = podToStatus(pod(deadline, {
    deadline: 1,
    annotations: { "ottoscaler.io/stop-requested": "2026-11-28T10:00:03Z" },
  }));
  assert.equal(stopped.reason, "Stopped");
  assert.equal(stopped.exitCode, 137);
});

Deno.test("podToStatus reports a pod given up on with its recorded reason", () => {
  const annotations = {
    "ottoscaler.io/failure-reason": "ImagePullBackOff",
    "ottoscaler.io/failure-message": "Back-off pulling image",
    "ottoscaler.io/failed-at": "2026-11-28T10:01:00Z",
  };
  const s = podToStatus(
    pod({ phase: "Pending", containerStatuses: [waiting("ImagePullBackOff")] }, {
      annotations,
    }),
  );
  assert.deepEqual([s.phase, s.reason, s.message, s.finishedAt], [
    "failed",
    "ImagePullBackOff",
    "Back-off pulling image",
    "2026-11-28T10:01:00Z",
  ]);
});
