import assert from "node:assert/strict";
import { Metrics } from "../telemetry/metrics.ts";
import { Readiness } from "../telemetry/readiness.ts";
import { silentLogger } from "../telemetry/logger.ts";
import { Authenticator } from "../grpc/auth/authenticator.ts";
import { ASSETS, PAGE } from "./dashboard/assets.ts";
import { harness } from "./dashboard/test_support.ts";
import { handle, HttpServer, lazyApp } from "./server.ts";

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

Deno.test("the dashboard is loaded by its first request, once; probes and scrapes never load it", async () => {
  await using h = await harness(false);
  const auth = await Authenticator.open({
    tokensFile: "",
    serviceAccounts: new Map(),
    certificateRoles: new Map(),
    logger: silentLogger,
  });
  let loads = 0;
  const server = await HttpServer.open({
    host: "127.0.0.1",
    port: 0,
    metrics: new Metrics(),
    readiness: new Readiness(),
    logger: silentLogger,
    // As serve.ts gives it: the real dashboard module, imported on the first request.
    app: lazyApp(async () => {
      loads++;
      const { dashboard } = await import("./dashboard/dashboard.ts");
      return dashboard({ runtime: h.runtime, pipelines: h.pipelines, auth, logger: silentLogger });
    }),
  });
  try {
    const get = (path: string, method = "GET") =>
      fetch(`http://127.0.0.1:${server.port}${path}`, { method });
    for (const path of ["/metrics", "/healthz", "/readyz"]) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      await res.body?.cancel();
    }
    const post = await get("/healthz", "POST");
    assert.equal(post.status, 405);
    await post.body?.cancel();
    assert.equal(loads, 0, "a probe or scrape loaded the dashboard");
    // Requests that come together while it loads share the one load.
    const [page, script, me] = await Promise.all([
      get("/"),
      get("/assets/app.js"),
      get("/api/me"),
    ]);
    assert.equal(loads, 1);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.equal(await page.text(), PAGE.body);
    assert.equal(script.status, 200);
    assert.equal(await script.text(), ASSETS.get("app.js")!.body);
    assert.equal(me.status, 200);
    assert.match(me.headers.get("content-type")!, /^application\/json/);
    await me.body?.cancel();
    const missing = await get("/nothing-here");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    assert.equal(loads, 1);
  } finally {
    await server.close();
  }
});
