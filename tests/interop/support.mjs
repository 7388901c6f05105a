// Shared helpers of the Node.js interop tests: the contract loaded as otto-handler loads it, and
// Ottoscaler started as a real process (`deno run main.ts serve`).

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, "..", "..");

/** otto-handler's loader options: camelCase names, as its generated TypeScript has them. */
export const HANDLER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The ottoscaler.v1 package, loaded from the repository's .proto files. */
export function loadContract() {
  const definition = protoLoader.loadSync(
    [
      "ottoscaler/v1/ottoscaler.proto",
      "ottoscaler/v1/log_forwarding.proto",
      "ottoscaler/v1/log_streaming.proto",
    ],
    { ...HANDLER_OPTIONS, includeDirs: [join(repo, "proto")] },
  );
  return grpc.loadPackageDefinition(definition).ottoscaler.v1;
}

/** A fresh temporary directory. */
export const tempDir = (prefix) => mkdtempSync(join(tmpdir(), prefix));

/**
 * Starts `main.ts serve` on a free port with `env`; resolves with its address and `stop()`
 * (SIGTERM, resolves with the exit code). The state directory is removed on stop unless given.
 */
export function startOttoscaler({ env = {}, stateDir } = {}) {
  const dir = stateDir ?? tempDir("ottoscaler-interop-");
  const deno = process.env.DENO_BIN || "deno";
  const child = spawn(
    deno,
    ["run", "--allow-all", join(repo, "main.ts"), "serve", "--port", "0", "--host", "127.0.0.1"],
    {
      env: { ...process.env, STATE_DIR: dir, STOP_GRACE_SECONDS: "2", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let logs = "";
  let started = false;
  return new Promise((resolve, reject) => {
    const failedToStart = (code) => reject(new Error(`ottoscaler exited with ${code}:\n${logs}`));
    const onData = (chunk) => {
      logs += chunk;
      const match = !started && logs.match(/"msg":"gRPC server listening".*?"port":(\d+)/);
      if (match) {
        started = true;
        child.off("exit", failedToStart);
        resolve({
          address: `127.0.0.1:${match[1]}`,
          stateDir: dir,
          logs: () => logs,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done(child.exitCode);
              child.once("exit", (code) => {
                if (!stateDir) rmSync(dir, { recursive: true, force: true });
                done(code);
              });
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", failedToStart);
    child.once("error", reject);
  });
}

/** Calls a unary method. */
export const unary = (client, method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, (err, res) => (err ? reject(err) : resolve(res)))
  );

/** Reads a server stream to its end. */
export const readAll = (stream) =>
  new Promise((resolve, reject) => {
    const items = [];
    stream.on("data", (item) => items.push(item));
    stream.on("end", () => resolve(items));
    stream.on("error", reject);
  });

/** Waits until `condition()` holds, checking every 50 ms; fails with `describe()` after `ms`. */
export async function waitFor(condition, describe, ms = 60_000) {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting: ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The loader options of otto-handler's ts-proto client: camelCase fields, enums as numbers,
 * int64 as JavaScript numbers.
 */
export const TS_PROTO_OPTIONS = {
  keepCase: false,
  longs: Number,
  defaults: true,
  oneofs: true,
};

/**
 * The ottoscaler.v1 package as otto-handler sees it (otto_handler_view/otto_handler.proto, from
 * CONTRACT.md). With `stringStageType`, PipelineStage.type is the seed's first form: a string.
 */
export function loadOttoHandlerView({ stringStageType = false } = {}) {
  const file = join(here, "otto_handler_view", "otto_handler.proto");
  let path = file;
  if (stringStageType) {
    const dir = tempDir("otto-handler-string-form-");
    path = join(dir, "otto_handler.proto");
    const text = readFileSync(file, "utf8");
    const legacy = text.replace("  StageType type = 2;", "  string type = 2;");
    if (legacy === text) throw new Error("PipelineStage.type not found in the view's proto");
    writeFileSync(path, legacy);
  }
  const definition = protoLoader.loadSync(path, TS_PROTO_OPTIONS);
  return grpc.loadPackageDefinition(definition).ottoscaler.v1;
}
