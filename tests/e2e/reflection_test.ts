/**
 * Server reflection as strict clients use it: grpcurl (built from the Go module proxy, on the Go
 * protobuf runtime that rejects descriptors protoc would not make) lists, describes every service
 * and message, and calls methods knowing nothing but what reflection tells it; grpc-health-probe
 * checks the health service; a grpc-js client checks that reflection v1alpha serves the same
 * descriptors as v1. `main.ts serve` runs in its own process with the local runtime.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import descriptor from "protobufjs/ext/descriptor/index.js";
import { buildFileDescriptors } from "../../mod/grpc/descriptors.ts";
import { parseProtoFiles } from "../../mod/grpc/proto.ts";
import { SERVICE_PROTO_FILES } from "../../mod/grpc/proto_files.ts";
import { grpcTools, runTool } from "../support/grpc_tools.ts";
import { startServerProcess } from "../support/server_process.ts";

/** What `list` must show: every service this server serves, and no other. */
const SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "ottoscaler.v1.LogStreamingService",
  "ottoscaler.v1.OttoscalerService",
];

/** Every top-level JSON object grpcurl printed (one per message, each closing at column 0). */
function jsonMessages(text: string): Record<string, unknown>[] {
  return [...text.matchAll(/^\{[\s\S]*?^\}$/gm)].map((m) => JSON.parse(m[0]));
}

/** A symbol name as a regular expression. */
function symbolPattern(symbol: string): string {
  return symbol.replaceAll(".", "\\.");
}

/** The fully qualified message and enum names a `describe` output refers to. */
function referencedTypes(describe: string): string[] {
  const names = [
    ...describe.matchAll(/\(\s*(?:stream\s+)?\.([\w.]+)\s*\)/g), // rpc X ( .a.Req ) returns ( .a.Res )
    ...describe.matchAll(/^\s*(?:repeated\s+|optional\s+)?\.([\w.]+)\s+\w+\s*=/gm), // .a.B field = 1;
    ...describe.matchAll(/map<\s*\w+\s*,\s*\.([\w.]+)\s*>/g), // map<string, .a.B>
  ].map((m) => m[1]);
  return [...new Set(names)];
}

Deno.test("grpcurl and grpc-health-probe use the server through reflection alone", async (t) => {
  const tools = await grpcTools();
  const server = await startServerProcess();
  const grpcurl = async (...args: string[]) => {
    const out = await runTool(tools.grpcurl, ["-plaintext", ...args]);
    assert.equal(out.code, 0, `grpcurl ${args.join(" ")} failed:\n${out.stderr}${out.stdout}`);
    return out.stdout;
  };
  const call = async (method: string, request: unknown, ...flags: string[]) =>
    jsonMessages(
      await grpcurl(
        "-emit-defaults",
        ...flags,
        "-d",
        JSON.stringify(request),
        server.address,
        method,
      ),
    );
  try {
    await t.step("list shows every served service", async () => {
      const listed = (await grpcurl(server.address, "list")).trim().split("\n").sort();
      assert.deepEqual(listed, SERVICES);
    });

    await t.step("describe resolves every service, method and message", async () => {
      const described = new Map<string, string>();
      const queue = [...SERVICES];
      while (queue.length > 0) {
        const symbol = queue.shift()!;
        if (described.has(symbol)) continue;
        const text = await grpcurl(server.address, "describe", symbol);
        described.set(symbol, text);
        assert.match(
          text,
          new RegExp(`^${symbolPattern(symbol)} is an? (service|message|enum):`),
        );
        queue.push(...referencedTypes(text));
        for (const rpc of text.matchAll(/^\s*rpc (\w+) /gm)) {
          const method = `${symbol}.${rpc[1]}`;
          assert.match(await grpcurl(server.address, "describe", method), /is a method:/);
        }
      }
      // Maps come through as maps (not as repeated entry messages), with message values too.
      assert.match(
        described.get("ottoscaler.v1.WorkerMetadata")!,
        /map<string, string> labels = 5;/,
      );
      assert.match(
        described.get("ottoscaler.v1.WatchWorkerLogsRequest")!,
        /map<string, int64> resume_after = 4;/,
      );
      assert.match(
        described.get("grpc.health.v1.HealthListResponse")!,
        /map<string, \.grpc\.health\.v1\.HealthCheckResponse> statuses = 1;/,
      );
      // A map whose entry type the client did not accept as one shows as a repeated field of it.
      for (const [symbol, text] of described) {
        const entry = new RegExp(`repeated \\.${symbolPattern(symbol)}\\.\\w+Entry \\w+ =`);
        assert.doesNotMatch(text, entry, `${symbol}: a map shows as its entry type`);
      }
      // Nested types were reached too, e.g. enums declared inside messages.
      assert.match(described.get("ottoscaler.v1.ScaleResponse.Status")!, /is an enum:/);
      assert.ok(described.has("grpc.reflection.v1alpha.ServerReflectionResponse"));
    });

    const taskId = "refl-e2e";
    await t.step("ScaleUp starts a real worker", async () => {
      const [res, ...rest] = await call("ottoscaler.v1.OttoscalerService/ScaleUp", {
        task_id: taskId,
        worker_count: 1,
        build_config: { command: "echo hi from grpcurl" },
      });
      assert.equal(rest.length, 0);
      assert.equal(res.status, "SUCCESS");
      assert.equal(res.processedCount, 1);
      assert.deepEqual(res.workerPodNames, [`otto-agent-${taskId}-1`]);
    });

    await t.step("WatchWorkerLogs streams the worker's line", async () => {
      // follow: true ends once the task's workers are done; -max-time only guards against a hang.
      const entries = await call(
        "ottoscaler.v1.OttoscalerService/WatchWorkerLogs",
        { task_id: taskId, follow: true },
        "-max-time",
        "300",
      );
      const line = entries.find((e) => e.message === "hi from grpcurl");
      assert.ok(line, `no line "hi from grpcurl" in ${JSON.stringify(entries)}`);
      assert.equal(line.workerId, `otto-agent-${taskId}-1`);
      assert.equal(line.taskId, taskId);
      assert.equal(line.sequence, "1");
      assert.equal((line.podMetadata as Record<string, unknown>).podName, line.workerId);
    });

    await t.step("GetWorkerStatus reports the finished worker", async () => {
      const [res] = await call("ottoscaler.v1.OttoscalerService/GetWorkerStatus", {
        task_id: taskId,
      });
      assert.equal(res.totalCount, 1);
      const workers = res.workers as Record<string, unknown>[];
      assert.equal(workers.length, 1);
      assert.equal(workers[0].podName, `otto-agent-${taskId}-1`);
      assert.equal(workers[0].taskId, taskId);
      assert.equal(workers[0].status, "succeeded");
    });

    await t.step("the health service answers grpcurl and grpc-health-probe", async () => {
      const [list] = await call("grpc.health.v1.Health/List", {});
      assert.deepEqual(list.statuses, {
        "": { status: "SERVING" },
        "ottoscaler.v1.OttoscalerService": { status: "SERVING" },
      });
      const port = server.address.split(":").at(-1)!;
      const addr = `127.0.0.1:${port}`;
      for (const service of [[], ["-service", "ottoscaler.v1.OttoscalerService"]]) {
        const probe = await runTool(tools.healthProbe, ["-addr", addr, ...service]);
        assert.equal(probe.code, 0, probe.stdout + probe.stderr);
        assert.match(probe.stdout + probe.stderr, /status: SERVING/);
      }
      const unknown = await runTool(tools.healthProbe, ["-addr", addr, "-service", "nope.Nope"]);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stdout + unknown.stderr, /NotFound|unknown service/i);
    });

    await t.step("reflection v1alpha serves the same descriptors as v1", async () => {
      const ask = async (version: "v1" | "v1alpha") => {
        const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, {
          keepCase: true,
          oneofs: true,
          includeDirs: [new URL("../../proto/", import.meta.url).pathname],
        });
        // deno-lint-ignore no-explicit-any
        const pkg = grpc.loadPackageDefinition(definition).grpc as any;
        const client: grpc.Client = new pkg.reflection[version].ServerReflection(
          server.address,
          grpc.credentials.createInsecure(),
        );
        try {
          // deno-lint-ignore no-explicit-any
          const stream = (client as any).ServerReflectionInfo() as grpc.ClientDuplexStream<
            Record<string, unknown>,
            Record<string, Record<string, unknown[]>>
          >;
          const answers: Record<string, Record<string, unknown[]>>[] = [];
          const done = new Promise<void>((resolve, reject) => {
            stream.on("data", (a) => answers.push(a));
            stream.on("end", resolve);
            stream.on("error", reject);
          });
          stream.write({ list_services: "*" });
          stream.write({ file_containing_symbol: "ottoscaler.v1.OttoscalerService" });
          stream.write({ file_by_filename: "grpc/health/v1/health.proto" });
          stream.end();
          await done;
          assert.equal(answers.length, 3);
          return {
            services: answers[0].list_services_response.service
              .map((s) => (s as { name: string }).name).sort(),
            files: answers.slice(1).map((a) =>
              (a.file_descriptor_response.file_descriptor_proto as Buffer[])
                .map((b) => Buffer.from(b).toString("base64"))
            ),
          };
        } finally {
          client.close();
        }
      };
      const v1 = await ask("v1");
      const v1alpha = await ask("v1alpha");
      assert.deepEqual(v1.services, SERVICES);
      assert.deepEqual(v1alpha, v1);
      // OttoscalerService's file comes with the file it imports.
      assert.equal(v1.files[0].length, 2);
    });

    await t.step("the copied health and reflection protos are the packages' own", async () => {
      const require = createRequire(import.meta.url);
      const reflectionDir = join(dirname(require.resolve("@grpc/reflection")), "..", "proto");
      const sources: Record<string, string> = {
        "grpc/health/v1/health.proto": healthProtoPath,
        "grpc/reflection/v1/reflection.proto": join(
          reflectionDir,
          "grpc/reflection/v1/reflection.proto",
        ),
        "grpc/reflection/v1alpha/reflection.proto": join(
          reflectionDir,
          "grpc/reflection/v1alpha/reflection.proto",
        ),
      };
      assert.deepEqual(SERVICE_PROTO_FILES.map((f) => f.path).sort(), Object.keys(sources).sort());
      for (const file of SERVICE_PROTO_FILES) {
        assert.equal(file.text, await Deno.readTextFile(sources[file.path]), file.path);
      }
    });
  } finally {
    await server.stop();
  }
});

const SAMPLE_COMMON = `syntax = "proto2";
package sample.v1;
option go_package = "example.com/sample/v1;samplev1";
enum Color {
  COLOR_UNSPECIFIED = 0;
  RED = 1;
  reserved 5 to 7;
  reserved "BLUE";
}
message Base {
  required string id = 1;
  optional int32 count = 2 [default = 7];
  repeated int32 packed_nums = 3 [packed = true];
  optional Color color = 4 [default = RED];
  extensions 100 to 199;
}
extend Base {
  optional string note = 100;
}
`;

const SAMPLE_API = `syntax = "proto3";
package sample.v1;
import "google/protobuf/timestamp.proto";
import "sample/v1/common.proto";
message Thing {
  string display_name = 1;
  optional string nick_name = 2;
  map<string, Inner.Kind> kinds_by_name = 3;
  map<int32, Base> bases = 4;
  oneof choice {
    string text = 5;
    Base base = 6;
  }
  google.protobuf.Timestamp created_at = 7;
  string custom = 8 [json_name = "customJSON"];
  Inner inner = 9;
  string field_2_name = 10;
  bool old_flag = 11 [deprecated = true];
  optional int64 size = 12;
  message Inner {
    enum Kind {
      KIND_UNSPECIFIED = 0;
    }
    map<string, string> labels = 1;
    repeated Inner children = 2;
    Kind kind = 3;
  }
  reserved 20, 30 to max;
  reserved "gone";
}
service Things {
  rpc Get(Thing) returns (Thing);
  rpc Watch(Thing) returns (stream Thing) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  rpc Upload(stream Thing.Inner) returns (Thing);
}
`;

Deno.test("descriptors of protos using every construct pass the Go protobuf runtime", async () => {
  const tools = await grpcTools();
  const { root, headers } = parseProtoFiles([
    { path: "sample/v1/common.proto", text: SAMPLE_COMMON },
    { path: "sample/v1/api.proto", text: SAMPLE_API },
  ]);
  const files = buildFileDescriptors(root, headers);
  assert.deepEqual(files.map((f) => [f.name, f.dependency]), [
    ["google/protobuf/timestamp.proto", []],
    ["sample/v1/common.proto", []],
    ["sample/v1/api.proto", ["google/protobuf/timestamp.proto", "sample/v1/common.proto"]],
  ]);
  const set = descriptor.FileDescriptorSet.encode(
    descriptor.FileDescriptorSet.fromObject({ file: files }),
  ).finish();
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-protoset-" });
  try {
    const protoset = join(dir, "sample.protoset");
    await Deno.writeFile(protoset, set);
    // grpcurl builds the files with Go's protodesc, which checks them as protoc's output.
    const describe = async (symbol: string) => {
      const out = await runTool(tools.grpcurl, ["-protoset", protoset, "describe", symbol]);
      assert.equal(out.code, 0, `describe ${symbol}:\n${out.stderr}`);
      return out.stdout;
    };
    const thing = await describe("sample.v1.Thing");
    for (
      const line of [
        "string display_name = 1;",
        "optional string nick_name = 2;",
        "map<string, .sample.v1.Thing.Inner.Kind> kinds_by_name = 3;",
        "map<int32, .sample.v1.Base> bases = 4;",
        "oneof choice {",
        ".google.protobuf.Timestamp created_at = 7;",
        'string custom = 8 [json_name = "customJSON"];',
        "string field_2_name = 10;",
        "bool old_flag = 11 [deprecated = true];",
        "optional int64 size = 12;",
        "map<string, string> labels = 1;",
        "repeated .sample.v1.Thing.Inner children = 2;",
      ]
    ) {
      assert.ok(thing.includes(line), `no "${line}" in:\n${thing}`);
    }
    // Only the explicit json_name differs from protoc's default (grpcurl prints the others not).
    assert.equal(thing.match(/json_name/g)?.length, 1, thing);
    assert.match(thing, /reserved 20, 30 to max;/);
    assert.match(thing, /reserved "gone";/);
    const base = await describe("sample.v1.Base");
    assert.match(base, /required string id = 1;/);
    assert.match(base, /optional int32 count = 2 \[default = 7\];/);
    assert.match(base, /extensions 100 to 199;/);
    assert.match(base, /optional \.sample\.v1\.Color color = 4 \[default = RED\];/);
    assert.match(base, /repeated int32 packed_nums = 3 \[packed = true\];/);
    assert.match(await describe("sample.v1.Color"), /reserved 5 to 7;/);
    assert.match(
      await describe("sample.v1.note"),
      /extend \.sample\.v1\.Base \{\s+optional string note = 100;/,
    );
    const service = await describe("sample.v1.Things");
    assert.match(
      service,
      /rpc Watch \( \.sample\.v1\.Thing \) returns \( stream \.sample\.v1\.Thing \)/,
    );
    assert.match(service, /option idempotency_level = NO_SIDE_EFFECTS;/);
    assert.match(service, /rpc Upload \( stream \.sample\.v1\.Thing\.Inner \) returns/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
