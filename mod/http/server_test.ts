import assert from "node:assert/strict";
import { Metrics } from "../telemetry/metrics.ts";
import { Readiness } from "../telemetry/readiness.ts";
import { handle } from "./server.ts";

Deno.test("HTTP routes: liveness, readiness with reasons, metrics, 404 and 405", async (t) => {
  const metrics = new Metrics();
  const readiness = new Readiness();
  let leader = false;
  readiness.add("leader", () => leader ? undefined : "not the leader; the leader is pod-a");
  readiness.add("pods", () => undefined);
  const get = (path: string, method = "GET") =>
    handle(new Request(`http://x${path}`, { method }), { metrics, readiness });

  await t.step("/healthz is ok while /readyz says why not", async () => {
    const live = await get("/healthz");
    assert.equal(live.status, 200);
    assert.equal(await live.text(), "ok\n");
    const ready = await get("/readyz");
    assert.equal(ready.status, 503);
    assert.equal(await ready.text(), "not ready\nleader: not the leader; the leader is pod-a\n");
  });

  await t.step("/readyz is ok once every check passes, and not after close", async () => {
    leader = true;
    const ready = await get("/readyz");
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), "ok\n");
    const closed = new Readiness();
    closed.close();
    const res = await handle(new Request("http://x/readyz"), { metrics, readiness: closed });
    assert.equal(res.status, 503);
    assert.match(await res.text(), /shutting down/);
  });

  await t.step("/readyz carries warnings, ready or not", async () => {
    const warnings = ["ALLOW_UNAUTHENTICATED=true: anyone who can reach the port may call"];
    const ready = await handle(new Request("http://x/readyz"), { metrics, readiness, warnings });
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), `ok\nwarning: ${warnings[0]}\n`);
  });

  await t.step("/metrics serves the registry; other paths and methods are refused", async () => {
    metrics.grpcRequests.inc({ method: "ScaleUp", code: "OK" });
    const res = await get("/metrics");
    assert.equal(res.status, 200);
    assert.match(
      await res.text(),
      /ottoscaler_grpc_requests_total\{method="ScaleUp",code="OK"\} 1/,
    );
    const missing = await get("/other");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const post = await get("/metrics", "POST");
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });
});
