import assert from "node:assert/strict";
import { workerSpec } from "../../worker/spec.ts";
import { approvalPipeline, harness, OPERATOR, readEvents, VIEWER } from "./test_support.ts";

Deno.test("dashboard: pages and assets are served; other paths are left to the HTTP server", async () => {
  await using h = await harness(false);
  for (
    const path of ["/", "/events", "/workers/otto-agent-a-1", "/pipelines/p1"]
  ) {
    const res = await h.call(path);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /text\/html/);
    assert.match(
      res.headers.get("content-security-policy")!,
      /default-src 'self'/,
    );
    assert.match(
      await res.text(),
      /<script type="module" src="\/assets\/app.js">/,
    );
  }
  const js = await h.call("/assets/app.js");
  assert.match(js.headers.get("content-type")!, /javascript/);
  assert.match(await js.text(), /export async function stream/);
  assert.equal(await h.handle(new Request("http://dash/metrics")), undefined);
  assert.equal(
    await h.handle(new Request("http://dash/assets/nope.js")),
    undefined,
  );
});

Deno.test("dashboard: the gRPC API's tokens and roles decide who sees and who acts", async () => {
  await using h = await harness(true);
  await approvalPipeline(h.pipelines, "roles");
  // Without a token: /api/me says "not signed in"; everything else is refused.
  assert.deepEqual(
    (await (await h.call("/api/me")).json()).authenticated,
    false,
  );
  assert.equal((await h.call("/api/pipelines")).status, 401);
  assert.equal(
    (await h.call("/api/pipelines", { token: "x".repeat(24) })).status,
    401,
  );
  const viewer = await (await h.call("/api/me", { token: VIEWER })).json();
  assert.deepEqual(viewer, {
    authenticated: true,
    name: "dash",
    role: "viewer",
    open: false,
    standby: "",
  });
  const listed = await (await h.call("/api/pipelines", { token: VIEWER }))
    .json();
  assert.deepEqual(listed.map((p: { id: string }) => p.id), ["roles"]);
  // A viewer may not cancel: refused, naming the role, and nothing changed.
  const denied = await h.call("/api/pipelines/roles/cancel", {
    method: "POST",
    token: VIEWER,
  });
  assert.equal(denied.status, 403);
  assert.match(
    (await denied.json()).message,
    /dash \(role viewer\) may not call OttoscalerService\/CancelPipeline/,
  );
  assert.equal(h.pipelines.get("roles")!.state.cancelled, false);
  const cancelled = await h.call("/api/pipelines/roles/cancel", {
    method: "POST",
    token: OPERATOR,
  });
  assert.equal(cancelled.status, 200);
  assert.deepEqual(await cancelled.json(), {
    cancelled: true,
    message: "pipeline roles cancelled",
  });
  assert.equal(
    h.pipelines.get("roles")!.state.stages.gate.status,
    "STAGE_CANCELLED",
  );
});

Deno.test("dashboard: approval goes through the executor; bad input names the field and changes nothing", async () => {
  await using h = await harness(false);
  await approvalPipeline(h.pipelines, "gated");
  const path = "/api/pipelines/gated/stages/gate/approval";
  const bad = await h.call(path, {
    method: "POST",
    body: JSON.stringify({ approved: "yes" }),
  });
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), {
    error: "INVALID_ARGUMENT",
    message: "approved: must be true or false",
  });
  const notJson = await h.call(path, { method: "POST", body: "{" });
  assert.equal(notJson.status, 400);
  assert.equal(
    h.pipelines.get("gated")!.state.stages.gate.status,
    "STAGE_RUNNING",
  );
  const unknown = await h.call("/api/pipelines/gated/stages/nope/approval", {
    method: "POST",
    body: JSON.stringify({ approved: true }),
  });
  assert.equal(unknown.status, 400);
  assert.match(
    (await unknown.json()).message,
    /stage_id: pipeline "gated" has no stage "nope"/,
  );
  const ok = await h.call(path, {
    method: "POST",
    body: JSON.stringify({ approved: true }),
  });
  assert.deepEqual(await ok.json(), {
    status: "STAGE_COMPLETED",
    message: "stage gate of pipeline gated approved",
  });
  const again = await h.call(path, {
    method: "POST",
    body: JSON.stringify({ approved: false }),
  });
  assert.equal(again.status, 409);
  const missing = await h.call("/api/pipelines/nope/cancel", {
    method: "POST",
  });
  assert.equal(missing.status, 404);
});

Deno.test("dashboard: a log stream resumes after Last-Event-ID with no gap and no repeat", async () => {
  await using h = await harness(false);
  const spec = workerSpec({
    taskId: "sse",
    index: 1,
    image: "",
    command: "for i in 1 2 3 4 5; do echo l$i; done",
    timeoutSeconds: 0,
    env: {},
  });
  await h.runtime.start(spec);
  const all = await readEvents(await h.call(`/api/stream/logs/${spec.id}`));
  assert.deepEqual(all.filter((e) => e.event === "line").map((e) => e.id), [
    "1",
    "2",
    "3",
    "4",
    "5",
  ]);
  assert.equal(all.at(-1)!.event, "end");
  const resumed = await readEvents(
    await h.call(`/api/stream/logs/${spec.id}`, {
      headers: { "last-event-id": "2" },
    }),
  );
  assert.deepEqual(
    resumed.filter((e) => e.event === "line").map((e) => (e.data as { m: string }).m),
    ["l3", "l4", "l5"],
  );
  const bad = await h.call(`/api/stream/logs/${spec.id}`, {
    headers: { "last-event-id": "x" },
  });
  assert.equal(bad.status, 400);
  assert.match(
    (await bad.json()).message,
    /Last-Event-ID: must be a line sequence/,
  );
  assert.equal(
    (await h.call("/api/stream/logs/otto-agent-none-1")).status,
    404,
  );
  // The events timeline: each event once, with its fixed place in the worker's history as id.
  const controller = new AbortController();
  const res = await h.call("/api/stream/events", { signal: controller.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes(`id: ${spec.id}:3`)) {
    text += (await reader.read()).value ?? "";
  }
  await reader.cancel();
  assert.deepEqual([...text.matchAll(/id: (\S+)/g)].map((m) => m[1]), [
    `${spec.id}:1`,
    `${spec.id}:2`,
    `${spec.id}:3`,
  ]);
});
