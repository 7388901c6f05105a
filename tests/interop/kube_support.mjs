// Shared by the Node.js tests on the Kubernetes runtime: the local control plane (started if
// needed, reached with curl on its admin certificates), a namespace prepared with what each
// worker will print (kwok Logs objects), and a grpc-js handler recording what Ottoscaler pushes.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadContract, repo } from "./support.mjs";

const v1 = loadContract();

/** Starts (or finds) the local control plane; returns a curl-based client of its API. */
export function cluster() {
  const devDir = process.env.OTTOSCALER_DEV_DIR ?? join(repo, ".dev");
  const up = spawnSync("bash", [join(repo, "tasks/control_plane/up.sh")], {
    env: { ...process.env, OTTOSCALER_DEV_DIR: devDir },
    encoding: "utf8",
  });
  if (up.status !== 0) {
    throw new Error(`the local control plane did not start:\n${up.stderr}`);
  }
  const env = Object.fromEntries(
    readFileSync(join(devDir, "control-plane", "env"), "utf8").split("\n")
      .filter(Boolean).map(
        (
          line,
        ) => [
          line.slice(0, line.indexOf("=")),
          line.slice(line.indexOf("=") + 1),
        ],
      ),
  );
  const curl = (method, path, body) => {
    const args = [
      "-sS",
      "-w",
      "\n%{http_code}",
      "--cacert",
      env.OTTOSCALER_CA_CERT,
      "--cert",
      env.OTTOSCALER_CLIENT_CERT,
      "--key",
      env.OTTOSCALER_CLIENT_KEY,
      "-X",
      method,
      "-H",
      "content-type: application/json",
    ];
    if (body) args.push("-d", JSON.stringify(body));
    const out = execFileSync(
      "curl",
      [...args, env.OTTOSCALER_APISERVER + path],
      {
        encoding: "utf8",
      },
    );
    const cut = out.lastIndexOf("\n");
    return { code: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
  };
  return {
    env,
    curl,
    kubeconfig: env.OTTOSCALER_KUBECONFIG,
    logDir: env.OTTOSCALER_POD_LOG_DIR,
  };
}

/** A fresh namespace, and what the workers of `task` will print. */
export function prepare(k, task, workers, lines) {
  const namespace = `push-${Math.random().toString(36).slice(2, 10)}`;
  assert.equal(
    k.curl("POST", "/api/v1/namespaces", { metadata: { name: namespace } })
      .code,
    201,
  );
  for (let i = 1; i <= workers; i++) {
    const pod = `otto-agent-${task}-${i}`;
    const file = join(k.logDir, `${namespace}_${pod}.log`);
    const now = new Date().toISOString();
    writeFileSync(
      file,
      lines.map((l) => `${now} stdout F w${i} ${l}\n`).join(""),
    );
    const created = k.curl(
      "POST",
      `/apis/kwok.x-k8s.io/v1alpha1/namespaces/${namespace}/logs`,
      {
        apiVersion: "kwok.x-k8s.io/v1alpha1",
        kind: "Logs",
        metadata: { name: pod, namespace },
        spec: { logs: [{ logsFile: file }] },
      },
    );
    assert.equal(created.code, 201, created.body);
  }
  return namespace;
}

/** A handler that records what arrives and acknowledges only while `acking` is true. */
export function startHandler(record) {
  const server = new grpc.Server();
  server.addService(v1.OttoHandlerLogService.service, {
    ForwardWorkerLogs(call) {
      call.on("data", (entry) => {
        const key = `${entry.workerId}#${entry.sequence}`;
        if (record.lines.has(key)) record.duplicates++;
        record.lines.set(key, entry.message);
        if (record.acking) {
          call.write({ status: "ACK", sequence: String(entry.sequence) });
        }
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
    NotifyWorkerStatus(call, callback) {
      record.statuses.push(`${call.request.workerId}/${call.request.status}`);
      callback(null, { status: "RECEIVED", message: "" });
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, port) => {
        if (err) return reject(err);
        resolve({ port, stop: () => server.forceShutdown() });
      },
    );
  });
}

/** What a handler received: lines by worker#sequence, statuses, duplicates. */
export const newRecord = (acking) => ({
  lines: new Map(),
  statuses: [],
  duplicates: 0,
  acking,
});
