import assert from "node:assert/strict";
import { accessOf, METHOD_ACCESS, permits } from "./roles.ts";

Deno.test("every method of the contract's served services has an access", async () => {
  const root = new URL("../../../proto/ottoscaler/v1/", import.meta.url);
  const served = ["OttoscalerService", "LogStreamingService"];
  for (const file of ["ottoscaler.proto", "log_streaming.proto"]) {
    const text = await Deno.readTextFile(new URL(file, root));
    let service = "";
    for (const line of text.split("\n")) {
      const s = line.match(/^service (\w+)/);
      if (s) service = s[1];
      const m = line.match(/^\s*rpc (\w+)\(/);
      if (m && served.includes(service)) {
        const path = `/ottoscaler.v1.${service}/${m[1]}`;
        assert.notEqual(accessOf(path), undefined, `${path} has no access in METHOD_ACCESS`);
      }
    }
  }
});

Deno.test("the role table: viewer reads, operator also changes, health is open", () => {
  const table: [string, string][] = [
    ["/grpc.health.v1.Health/Check", "open"],
    ["/grpc.health.v1.Health/Watch", "open"],
    ["/grpc.health.v1.Health/List", "open"],
    ["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "viewer"],
    ["/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "viewer"],
    ["/ottoscaler.v1.OttoscalerService/GetWorkerStatus", "viewer"],
    ["/ottoscaler.v1.OttoscalerService/WatchWorkerLogs", "viewer"],
    ["/ottoscaler.v1.OttoscalerService/WatchWorkerEvents", "viewer"],
    ["/ottoscaler.v1.OttoscalerService/WatchPipeline", "viewer"],
    ["/ottoscaler.v1.OttoscalerService/ScaleUp", "operator"],
    ["/ottoscaler.v1.OttoscalerService/ScaleDown", "operator"],
    ["/ottoscaler.v1.OttoscalerService/ExecutePipeline", "operator"],
    ["/ottoscaler.v1.OttoscalerService/CancelPipeline", "operator"],
    ["/ottoscaler.v1.OttoscalerService/ApproveStage", "operator"],
    ["/ottoscaler.v1.LogStreamingService/RegisterWorker", "operator"],
    ["/ottoscaler.v1.LogStreamingService/StreamLogs", "operator"],
  ];
  for (const [method, access] of table) assert.equal(accessOf(method), access, method);
  assert.equal(METHOD_ACCESS.size, table.length, "a method in the table is not in this test");
});

Deno.test("a method in no role is denied; permits orders the roles", () => {
  assert.equal(accessOf("/ottoscaler.v1.OttoscalerService/DeleteEverything"), undefined);
  assert.equal(accessOf("ScaleUp"), undefined);
  assert.equal(permits("viewer", "open"), true);
  assert.equal(permits("viewer", "viewer"), true);
  assert.equal(permits("viewer", "operator"), false);
  assert.equal(permits("operator", "viewer"), true);
  assert.equal(permits("operator", "operator"), true);
});
