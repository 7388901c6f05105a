// Push mode on the Kubernetes runtime, against a grpc-js handler on Node.js as otto-handler runs
// it, with Ottoscaler serving on the local control plane (KWOK plays the kubelet; what a worker
// prints is a CRI log file named by a kwok Logs object). Checks what the pod-as-buffer design
// promises: a finished pod is kept until the handler acknowledged its last line, then deleted;
// delivery progress lives on the pods, so an Ottoscaler restarted with an empty STATE_DIR neither
// loses lines nor sends acknowledged ones again.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { loadContract, loadOttoHandlerView, startOttoscaler, unary, waitFor } from "./support.mjs";
import { cluster, newRecord, prepare, startHandler } from "./kube_support.mjs";

const v1 = loadContract();
const view = loadOttoHandlerView();

/** Ottoscaler's environment: the Kubernetes runtime in `namespace`, pushing to `handler`. */
const kubeEnv = (k, namespace, handler, extra) => ({
  WORKER_RUNTIME: "kubernetes",
  KUBECONFIG: k.kubeconfig,
  NAMESPACE: namespace,
  OTTO_HANDLER_HOST: `127.0.0.1:${handler.port}`,
  ...extra,
});

const LINES = ["checkout", "compile", "test", "package", "done"];

/** A handler on otto-handler's own proto: no field 9, so each entry is answered ACK sequence 0. */
function startSequenceZeroHandler(record) {
  const server = new grpc.Server();
  server.addService(view.OttoHandlerLogService.service, {
    ForwardWorkerLogs(call) {
      call.on("data", (entry) => {
        record.entries++;
        record.lines.add(`${entry.workerId} ${entry.message}`);
        call.write({ status: 0, sequence: 0 });
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
    NotifyWorkerStatus(call, callback) {
      record.statuses.push(`${call.request.workerId}/${call.request.status}`);
      callback(null, { status: 0, message: "" });
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(err);
      resolve({ port, stop: () => server.forceShutdown() });
    });
  });
}

describe("push delivery on the Kubernetes runtime", () => {
  it("completes with a handler that ACKs each entry with sequence 0; then the pods go", {
    timeout: 120_000,
  }, async () => {
    const k = cluster();
    const task = "kzero";
    const lines = Array.from({ length: 40 }, (_, i) => `step ${i + 1}`);
    const namespace = prepare(k, task, 2, lines);
    const record = { entries: 0, lines: new Set(), statuses: [] };
    const handler = await startSequenceZeroHandler(record);
    // A window below the line count: without sequence-0 acknowledgements delivery would stall.
    const env = kubeEnv(k, namespace, handler, {
      POD_RETENTION_SECONDS: "0",
      PUSH_WINDOW: "10",
      PUSH_ACK_TIMEOUT_SECONDS: "2",
    });
    const ottoscaler = await startOttoscaler({ env });
    const client = new view.OttoscalerService(
      ottoscaler.address,
      grpc.credentials.createInsecure(),
    );
    const pods = [1, 2].map((i) => `otto-agent-${task}-${i}`);
    try {
      await unary(client, "ScaleUp", {
        taskId: task,
        workerCount: 2,
        buildConfig: { OTTO_SIM_DURATION: "0.5s" },
      });
      await waitFor(
        () =>
          pods.every((p) =>
            k.curl("GET", `/api/v1/namespaces/${namespace}/pods/${p}`).code === 404
          ),
        () => `pods still there; ${record.lines.size} lines, statuses ${record.statuses}`,
      );
      for (const [i, p] of pods.entries()) {
        for (const line of lines) assert.ok(record.lines.has(`${p} w${i + 1} ${line}`), line);
        // StatusType numbers: CREATED 0, RUNNING 1, COMPLETED 2; each sent once.
        assert.deepEqual(
          record.statuses.filter((s) => s.startsWith(`${p}/`)),
          [`${p}/0`, `${p}/1`, `${p}/2`],
        );
      }
      // Delivery is complete: nothing is sent again, even after more than an ack timeout.
      const settled = record.entries;
      await new Promise((r) => setTimeout(r, 3_000));
      assert.equal(record.entries, settled, "nothing resent after the last acknowledgement");
    } finally {
      client.close();
      await ottoscaler.stop();
      handler.stop();
    }
  });

  it(
    "keeps a finished pod until its last line is acknowledged, then deletes it",
    {
      timeout: 120_000,
    },
    async () => {
      const k = cluster();
      const task = "kpush";
      const namespace = prepare(k, task, 2, LINES);
      const record = newRecord(false);
      const handler = await startHandler(record);
      const env = kubeEnv(k, namespace, handler, {
        POD_RETENTION_SECONDS: "0",
        PUSH_ACK_TIMEOUT_SECONDS: "60",
      });
      let ottoscaler = await startOttoscaler({ env });
      let client = new v1.OttoscalerService(
        ottoscaler.address,
        grpc.credentials.createInsecure(),
      );
      const pods = [1, 2].map((i) => `otto-agent-${task}-${i}`);
      const podPath = (p) => `/api/v1/namespaces/${namespace}/pods/${p}`;
      try {
        await unary(client, "ScaleUp", {
          taskId: task,
          workerCount: 2,
          buildConfig: { OTTO_SIM_DURATION: "0.5s" },
        });
        await waitFor(
          () =>
            record.lines.size === 10 &&
            pods.every((p) => record.statuses.includes(`${p}/COMPLETED`)),
          () => `lines ${record.lines.size}/10, statuses ${record.statuses}`,
        );
        // Finished, retention 0, but nothing acknowledged: the pods (the buffer) must stay.
        await new Promise((r) => setTimeout(r, 2_000));
        for (const p of pods) {
          assert.equal(
            k.curl("GET", podPath(p)).code,
            200,
            `${p} was kept`,
          );
        }

        // A new Ottoscaler with an empty STATE_DIR; the handler now acknowledges.
        client.close();
        await ottoscaler.stop();
        record.acking = true;
        ottoscaler = await startOttoscaler({ env });
        client = new v1.OttoscalerService(
          ottoscaler.address,
          grpc.credentials.createInsecure(),
        );
        await waitFor(
          () => pods.every((p) => k.curl("GET", podPath(p)).code === 404),
          () => `pods still there; lines ${record.lines.size}`,
        );
        for (const [i, p] of pods.entries()) {
          LINES.forEach((line, n) =>
            assert.equal(record.lines.get(`${p}#${n + 1}`), `w${i + 1} ${line}`)
          );
        }
      } finally {
        client.close();
        await ottoscaler.stop();
        handler.stop();
      }
    },
  );

  it("resumes from the progress recorded on the pods, not from line 1", {
    timeout: 120_000,
  }, async () => {
    const k = cluster();
    const task = "kresume";
    const namespace = prepare(k, task, 1, LINES);
    const record = newRecord(true);
    const handler = await startHandler(record);
    const env = kubeEnv(k, namespace, handler, { POD_RETENTION_SECONDS: "3600" });
    let ottoscaler = await startOttoscaler({ env });
    let client = new v1.OttoscalerService(
      ottoscaler.address,
      grpc.credentials.createInsecure(),
    );
    const pod = `otto-agent-${task}-1`;
    try {
      await unary(client, "ScaleUp", {
        taskId: task,
        workerCount: 1,
        buildConfig: { OTTO_SIM_DURATION: "0.5s" },
      });
      const progress = () => {
        const got = k.curl(
          "GET",
          `/api/v1/namespaces/${namespace}/pods/${pod}`,
        );
        const text = JSON.parse(got.body).metadata.annotations
          ?.["ottoscaler.io/delivery"];
        return text ? JSON.parse(text) : undefined;
      };
      await waitFor(
        () => progress()?.complete === true,
        () => JSON.stringify(progress()),
      );
      assert.equal(progress().logsAcked, LINES.length);
      const sentBefore = record.lines.size;
      const statusesBefore = record.statuses.length;

      client.close();
      await ottoscaler.stop();
      ottoscaler = await startOttoscaler({ env }); // a fresh, empty STATE_DIR
      client = new v1.OttoscalerService(
        ottoscaler.address,
        grpc.credentials.createInsecure(),
      );
      const status = await unary(client, "GetWorkerStatus", { taskId: task });
      assert.equal(
        status.workers[0].status,
        "succeeded",
        "the worker is known again",
      );
      await new Promise((r) => setTimeout(r, 2_000));
      assert.equal(record.lines.size, sentBefore);
      assert.equal(record.duplicates, 0, "no acknowledged line was sent again");
      assert.equal(
        record.statuses.length,
        statusesBefore,
        "no state change was sent again",
      );
      assert.equal(
        k.curl("GET", `/api/v1/namespaces/${namespace}/pods/${pod}`).code,
        200,
      );
    } finally {
      client.close();
      await ottoscaler.stop();
      handler.stop();
    }
  });
});
