import assert from "node:assert/strict";
import type { Leadership } from "../../kube/leader.ts";
import { compilePipeline } from "../../pipeline/compile.ts";
import { Scaler } from "../../scaler/scaler.ts";
import { silentLogger } from "../../telemetry/logger.ts";
import { approvalPipeline, harness, OPERATOR, VIEWER } from "./test_support.ts";

type Event = { id?: string; event: string; data: Record<string, unknown> };

/** Reads an endless SSE body until `enough(events so far)`, then lets go of it. */
async function readUntil(
  res: Response,
  enough: (events: Event[]) => boolean,
): Promise<Event[]> {
  assert.equal(res.status, 200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Event[] = [];
  let buffer = "";
  try {
    while (!enough(events)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended after ${JSON.stringify(events)}`);
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const get = (k: string) =>
          block.split("\n").find((l) => l.startsWith(`${k}: `))?.slice(k.length + 2);
        const data = get("data");
        if (data !== undefined) {
          events.push({ id: get("id"), event: get("event")!, data: JSON.parse(data) });
        }
      }
    }
  } finally {
    await reader.cancel();
  }
  return events;
}

Deno.test("dashboard: the overview's pipelines are live: the list, then new pipelines and each transition", async () => {
  await using h = await harness(false);
  await approvalPipeline(h.pipelines, "first");
  const controller = new AbortController();
  const res = await h.call("/api/stream/pipelines", { signal: controller.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const until = async (needle: string) => {
    while (!text.includes(needle)) text += (await reader.read()).value ?? "";
  };
  await until("event: pipelines");
  // Started and decided while the stream is open: both arrive through it.
  await approvalPipeline(h.pipelines, "second");
  await until('"id":"second"');
  const approved = await h.call("/api/pipelines/second/stages/gate/approval", {
    method: "POST",
    body: JSON.stringify({ approved: true }),
  });
  assert.equal(approved.status, 200);
  await until('"status":"STAGE_COMPLETED"');
  await until('"finished":true');
  await reader.cancel();
  const events = text.split("\n\n").filter((b) => b.includes("data: ")).map((b) => ({
    event: b.match(/event: (\S+)/)![1],
    data: JSON.parse(b.match(/data: (.*)/)![1]),
  }));
  assert.deepEqual(events[0].event, "pipelines");
  assert.deepEqual(events[0].data.map((p: { id: string }) => p.id), ["first"]);
  assert.equal(events[0].data[0].tenant, "default");
  const rest = events.slice(1).map((e) =>
    e.event === "stage"
      ? `stage ${e.data.pipelineId}/${e.data.stageId} ${e.data.status}`
      : `${e.event} ${e.data.id} finished=${e.data.finished}`
  );
  // The new pipeline, its stage waiting, then approved, then its final shape: each once, in order.
  assert.deepEqual(rest.filter((r) => !r.startsWith("stage second/gate STAGE_PENDING")), [
    "pipeline second finished=false",
    "stage second/gate STAGE_RUNNING",
    "stage second/gate STAGE_COMPLETED",
    "pipeline second finished=true",
  ]);
  // A reconnect starts with the whole list again, as it is now: the page replaces what it had.
  const again = await readUntil(
    await h.call("/api/stream/pipelines"),
    (e) => e.length >= 1,
  );
  assert.equal(again[0].event, "pipelines");
  const list = again[0].data as unknown as {
    id: string;
    progress: { status: string }[];
  }[];
  assert.deepEqual(list.map((p) => [p.id, p.progress[0].status]), [
    ["first", "STAGE_RUNNING"],
    ["second", "STAGE_COMPLETED"],
  ]);
});

Deno.test("dashboard: workers and pipelines carry their tenant: metadata tenant, else triggered_by, else default", async () => {
  await using h = await harness(false);
  const scaler = new Scaler({
    runtime: h.runtime,
    logger: silentLogger,
    defaultImage: "",
    maxWorkersPerTask: 10,
    maxParallelStarts: 4,
  });
  const up = (taskId: string, extra: { metadata?: Record<string, string>; triggeredBy?: string }) =>
    scaler.scaleUp({ taskId, workerCount: 1, buildConfig: { command: "true" }, ...extra });
  assert.equal(
    (await up("by-meta", { metadata: { tenant: "team-a" }, triggeredBy: "bot" })).status,
    "SUCCESS",
  );
  assert.equal((await up("by-trigger", { triggeredBy: "ci-bot" })).status, "SUCCESS");
  assert.equal((await up("by-none", {})).status, "SUCCESS");
  const [workers] = await readUntil(await h.call("/api/stream/workers"), (e) => e.length >= 1);
  assert.equal(workers.event, "workers");
  const tenants = Object.fromEntries(
    (workers.data as unknown as { taskId: string; tenant: string }[]).map((
      w,
    ) => [w.taskId, w.tenant]),
  );
  assert.deepEqual(tenants, { "by-meta": "team-a", "by-trigger": "ci-bot", "by-none": "default" });
  // A pipeline's tenant is its ticket's, DNS-safe as on its workers' label.
  await h.pipelines.submit(
    compilePipeline({
      pipelineId: "owned",
      stages: [{ stageId: "gate", type: "approval", workerCount: 0 }],
    }, { maxWorkersPerStage: 10, requireCommand: true }),
    { admission: { tenant: "team-b", priority: 0 } },
  );
  const listed = await (await h.call("/api/pipelines")).json();
  assert.deepEqual(listed.map((p: { id: string; tenant: string }) => [p.id, p.tenant]), [[
    "owned",
    "team-b",
  ]]);
});

Deno.test("dashboard: a standby says so, naming the leader (503), and changes nothing", async () => {
  let leading = false;
  const leadership: Leadership = {
    isLeader: () => leading,
    leader: () => "replica-a_1234abcd",
  };
  await using h = await harness(true, leadership);
  // The executor of this test holds a pipeline, as the leader's would: the standby must not touch it.
  await approvalPipeline(h.pipelines, "held");
  const standby = "this Ottoscaler instance is a standby; the leader is replica-a_1234abcd";
  const me = await (await h.call("/api/me", { token: VIEWER })).json();
  assert.equal(me.standby, standby);
  for (
    const [path, body] of [
      ["/api/pipelines/held/cancel", undefined],
      ["/api/pipelines/held/stages/gate/approval", JSON.stringify({ approved: true })],
      ["/api/pipelines/held/stages/gate/approval", JSON.stringify({ approved: false })],
      // Even a pipeline it has never heard of: the answer is the standby's, not "not found".
      ["/api/pipelines/unknown/cancel", undefined],
    ] as const
  ) {
    const res = await h.call(path, { method: "POST", body, token: OPERATOR });
    assert.equal(res.status, 503, path);
    assert.deepEqual(await res.json(), { error: "UNAVAILABLE", message: standby });
  }
  assert.equal(h.pipelines.get("held")!.state.stages.gate.status, "STAGE_RUNNING");
  assert.equal(h.pipelines.get("held")!.state.cancelled, false);
  // Who may not act hears that first, as on the gRPC API (authorization before leadership).
  const viewer = await h.call("/api/pipelines/held/cancel", { method: "POST", token: VIEWER });
  assert.equal(viewer.status, 403);
  // Reading pipelines: the same answer; workers (the warm cache) are shown.
  for (const path of ["/api/pipelines", "/api/stream/pipelines", "/api/stream/pipelines/held"]) {
    const res = await h.call(path, { token: VIEWER });
    assert.equal(res.status, 503, path);
    assert.equal((await res.json()).message, standby);
  }
  const [workers] = await readUntil(
    await h.call("/api/stream/workers", { token: VIEWER }),
    (e) => e.length >= 1,
  );
  assert.equal(workers.event, "workers");
  // Once it leads, it acts.
  leading = true;
  assert.equal((await (await h.call("/api/me", { token: VIEWER })).json()).standby, "");
  const cancelled = await h.call("/api/pipelines/held/cancel", { method: "POST", token: OPERATOR });
  assert.equal(cancelled.status, 200);
  assert.equal(h.pipelines.get("held")!.state.cancelled, true);
});
