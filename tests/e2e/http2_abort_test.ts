/**
 * denoland/deno#36788, reproduced and contained. First the platform bug itself: a Deno grpc-js
 * server that received tens of thousands of messages on one stream can die inside nghttp2
 * (SIGABRT on an assertion, or SIGSEGV) when the client ends and closes its channel; no
 * JavaScript can catch it. It does not strike every time, so that step checks that the server
 * ends in no other way. Then what Ottoscaler does about it: `serve` with SUPERVISE=true runs as a child that
 * its supervisor starts again at once after such an abort (the same SIGABRT, sent to the child
 * while a worker prints), and no line of the worker's output is lost or numbered twice.
 */

import assert from "node:assert/strict";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { readAll } from "../support/grpc.ts";

const PEER = new URL("../support/h2_abort_peer.ts", import.meta.url).pathname;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Polls until `ok()`; fails after `limitMs` (a guard against hanging, not a measure). */
async function until(what: string, ok: () => Promise<boolean> | boolean, limitMs = 90_000) {
  const deadline = Date.now() + limitMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether a process lives. */
function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** A port that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Reads a child's output into a string as it comes. */
function collect(child: Deno.ChildProcess) {
  let text = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const done = Promise.all([drain(child.stdout), drain(child.stderr)]);
  return { text: () => text, done };
}

Deno.test("HTTP/2 abort (denoland/deno#36788): reproduced, and survived by a supervised serve", async (t) => {
  await t.step(
    "a Deno grpc-js server that received 30,000 messages on one stream, as the client closes: aborts or lives on",
    async () => {
      const server = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", PEER, "server"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const out = collect(server);
      let end: Deno.CommandStatus | undefined;
      server.status.then((s) => end = s);
      try {
        await until("the server's port", () => /PORT \d+/.test(out.text()) || end !== undefined);
        const port = out.text().match(/PORT (\d+)/)![1];
        // Up to eight rounds; on an idle machine the first one was enough, under load the abort
        // can take a few rounds (or come a few seconds after the client closed).
        for (let round = 0; round < 8 && end === undefined; round++) {
          const client = await new Deno.Command(Deno.execPath(), {
            args: ["run", "--allow-all", PEER, "client", `127.0.0.1:${port}`, "30000"],
            stdout: "null",
            stderr: "null",
          }).output();
          assert.ok(client.code === 0 || end !== undefined, "the client itself is fine");
          await until("the server to abort", () => end !== undefined, 5_000).catch(() => {});
        }
        // The abort is the runtime's and not every run hits it (on a loaded machine it came at the
        // first round; on a quiet one it may not come in eight). What must never happen is any
        // other end: the server either dies of the abort, or lives on and still serves.
        if (end === undefined) {
          console.log("denoland/deno#36788 not reproduced in 8 rounds this time");
          assert.ok(alive(server.pid), "the server lives on");
          const again = await new Deno.Command(Deno.execPath(), {
            args: ["run", "--allow-all", PEER, "client", `127.0.0.1:${port}`, "10"],
            stdout: "null",
            stderr: "null",
          }).output();
          assert.ok(again.code === 0 || end !== undefined, "and still serves a new client");
        }
        if (end !== undefined) {
          assert.ok(
            end.signal === "SIGABRT" || end.signal === "SIGSEGV" || [134, 139].includes(end.code),
            `died of nothing but the abort: ${JSON.stringify(end)}`,
          );
        }
      } finally {
        if (end === undefined) server.kill("SIGKILL");
        await server.status;
        await out.done;
      }
    },
  );

  await t.step(
    "supervised, serve is started again at once after aborts, losing no line",
    async () => {
      const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-h2-" });
      const port = freePort();
      const supervisor = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", MAIN, "serve", "--port", String(port), "--host", "127.0.0.1"],
        env: { STATE_DIR: stateDir, SUPERVISE: "true", STOP_GRACE_SECONDS: "2" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const out = collect(supervisor);
      const childPid = async () => {
        try {
          return (JSON.parse(await Deno.readTextFile(`${stateDir}/owner.json`)) as { pid: number })
            .pid;
        } catch {
          return undefined;
        }
      };
      const listening = () => out.text().split('"msg":"gRPC server listening"').length - 1;
      let client: OttoscalerServiceClient | undefined;
      try {
        await until("serve listening", () => listening() === 1);
        client = connect(`127.0.0.1:${port}`);
        const c = client;
        const LINES = 3000;
        const res = await unaryCall<ScaleRequest, ScaleResponse__Output>(c.ScaleUp.bind(c), {
          task_id: "h2",
          worker_count: 1,
          build_config: {
            command: `i=1; while [ $i -le ${LINES} ]; do echo "line $i"; i=$((i+1)); ` +
              `case $((i % 100)) in 0) sleep 0.2;; esac; done`,
          },
        });
        assert.equal(res.status, "SUCCESS");

        const pids = new Set<number>();
        for (let abort = 1; abort <= 3; abort++) {
          const pid = await childPid();
          assert.ok(pid !== undefined && pid !== supervisor.pid, "serve runs as a child");
          pids.add(pid);
          Deno.kill(pid, "SIGABRT"); // what nghttp2's failed assertion raises
          await until(`serve back after abort ${abort}`, () => listening() === abort + 1);
        }
        assert.equal(pids.size, 3, "each abort killed a different child");
        assert.equal(out.text().split('"msg":"serve died; starting it again"').length - 1, 3);
        assert.match(out.text(), /"signal":"SIGABRT"/);

        const status = (req: WorkerStatusRequest) =>
          unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
            c.GetWorkerStatus.bind(c),
            req,
          );
        await until("the worker ends", async () => {
          const { workers } = await status({ task_id: "h2" });
          return workers[0]?.status === "succeeded";
        });
        const lines = await readAll<WorkerLogEntry__Output>(
          c.WatchWorkerLogs({ task_id: "h2", follow: true }),
        );
        assert.equal(lines.length, LINES, "every line, once");
        lines.forEach((line, i) => {
          assert.equal(Number(line.sequence), i + 1);
          assert.equal(line.message, `line ${i + 1}`);
        });
      } finally {
        client?.close();
        supervisor.kill("SIGTERM");
        const end = await supervisor.status;
        await out.done;
        assert.equal(end.code, 0, out.text().slice(-2000));
        await Deno.remove(stateDir, { recursive: true });
      }
    },
  );

  await t.step("a supervisor killed outright takes its child with it", async () => {
    const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-h2-" });
    const supervisor = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "serve", "--port", "0", "--host", "127.0.0.1"],
      env: { STATE_DIR: stateDir, SUPERVISE: "true" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = collect(supervisor);
    try {
      await until("serve listening", () => out.text().includes('"msg":"gRPC server listening"'));
      const { pid } = JSON.parse(await Deno.readTextFile(`${stateDir}/owner.json`));
      assert.ok(alive(pid));
      supervisor.kill("SIGKILL");
      await supervisor.status;
      await until("the child is gone", () => !alive(pid));
    } finally {
      await out.done;
      await Deno.remove(stateDir, { recursive: true });
    }
  });
});
