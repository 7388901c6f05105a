// The dashboard of a hot standby (Kubernetes runtime, leader election, on the local control
// plane), in Debian's Chromium: two replicas behind one address (a proxy standing in for a
// Service), a pipeline waiting for approval on the leader. The page is opened through the proxy
// on the leader (the buttons shown); then the proxy sends everything to the standby, as a Service
// can while readiness moves. The page says the standby's answer (naming the leader) while it
// reconnects, a click on Approve shows it too, and nothing changes on the leader. The standby's
// own pages show a banner naming the leader.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, request as httpRequest } from "node:http";
import * as grpc from "@grpc/grpc-js";
import { loadContract, startOttoscaler, waitFor } from "./support.mjs";
import { cluster, prepare } from "./kube_support.mjs";
import { BROWSERS, freePort, openPage, shot } from "./dashboard_support.mjs";

const v1 = loadContract();
const APPROVAL = 7;

/** An HTTP proxy to `target()`; `cut()` drops every open connection (streams included). */
function proxy(target) {
  const sockets = new Set();
  const server = createServer((req, res) => {
    const upstream = httpRequest(`${target()}${req.url}`, {
      method: req.method,
      headers: req.headers,
    }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        cut: () => {
          for (const s of sockets) s.destroy();
        },
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise((done) => server.close(done));
        },
      }));
  });
}

/** Starts one replica with its HTTP port and waits until it listens and campaigns. */
async function replica(env) {
  const instance = await startOttoscaler({ env: { ...env, HTTP_PORT: String(await freePort()) } });
  await waitFor(() => instance.httpUrl() && instance.identity(), () => instance.logs());
  return instance;
}

describe("the dashboard of a hot standby (local control plane, Chromium)", () => {
  let browser;
  let a;
  let b;
  let front;
  const errors = [];

  before(async () => {
    browser = await BROWSERS.chromium.launch();
  });

  after(async () => {
    await browser?.close();
    await front?.close();
    await a?.stop();
    await b?.stop();
  });

  it("answers 503 naming the leader; the page shows it, and nothing changes", {
    timeout: 240_000,
  }, async () => {
    const k = cluster();
    const namespace = prepare(k, "standby", 0, []);
    const env = {
      WORKER_RUNTIME: "kubernetes",
      KUBECONFIG: k.kubeconfig,
      NAMESPACE: namespace,
      LEADER_ELECTION: "true",
    };
    a = await replica(env);
    const get = async (instance, path) => {
      const res = await fetch(`${instance.httpUrl()}${path}`);
      return { status: res.status, body: await res.text() };
    };
    for (let i = 0; (await get(a, "/readyz")).status !== 200; i++) {
      if (i > 150) throw new Error(`the first replica never led:\n${a.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    b = await replica(env);
    for (let i = 0; !(await get(b, "/readyz")).body.includes(a.identity()); i++) {
      if (i > 150) throw new Error(`the second replica never saw the leader:\n${b.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const standby = `this Ottoscaler instance is a standby; the leader is ${a.identity()}`;

    const client = new v1.OttoscalerService(a.address, grpc.credentials.createInsecure());
    const stream = client.ExecutePipeline({
      pipelineId: "sb-gate",
      stages: [{ stageId: "gate", type: APPROVAL, workerCount: 0 }],
    });
    stream.on("error", () => {});
    await new Promise((resolve) => stream.once("data", resolve));

    // Through the front, on the leader: the buttons are shown.
    let target = a;
    front = await proxy(() => target.httpUrl());
    const page = await openPage(browser, errors);
    await page.goto(`${front.url}/pipelines/sb-gate`);
    await page.waitForSelector("xpath///button[text()='Approve gate']");
    assert.equal(await page.$eval("#standby", (n) => n.hidden), true);
    // The front now sends everything to the standby.
    target = b;
    front.cut();
    await page.waitForFunction(
      (text) => document.querySelector("h1")?.textContent?.includes(text),
      {},
      `reconnecting (${standby})`,
    );
    const approve = await page.waitForSelector("xpath///button[text()='Approve gate']");
    await approve.click();
    await page.waitForFunction(
      (text) => document.querySelector("#note")?.textContent === text,
      {},
      standby,
    );
    await shot(page, "", "standby-approve");

    // Straight to the standby: the same answer for every action, 503.
    for (const path of ["/api/pipelines/sb-gate/cancel", "/api/pipelines/nope/cancel"]) {
      const res = await fetch(`${b.httpUrl()}${path}`, { method: "POST" });
      assert.equal(res.status, 503, path);
      assert.deepEqual(await res.json(), { error: "UNAVAILABLE", message: standby });
    }
    const rejected = await fetch(`${b.httpUrl()}/api/pipelines/sb-gate/stages/gate/approval`, {
      method: "POST",
      body: JSON.stringify({ approved: false }),
    });
    assert.equal(rejected.status, 503);
    // Its own overview: the workers it sees, and a banner naming the leader.
    const own = await openPage(browser, errors);
    await own.goto(`${b.httpUrl()}/`);
    await own.waitForFunction(
      (text) => document.querySelector("#standby:not([hidden])")?.textContent === text,
      {},
      standby,
    );
    await shot(own, "", "standby-overview");
    await own.close();

    // Nothing changed on the leader: the stage still waits.
    const listed = await (await fetch(`${a.httpUrl()}/api/pipelines`)).json();
    const gate = listed.find((p) => p.id === "sb-gate");
    assert.equal(gate.cancelled, false);
    assert.equal(gate.progress[0].status, "STAGE_RUNNING");
    // Back on the leader, the page acts again.
    target = a;
    front.cut();
    await page.waitForFunction(() => /● live/.test(document.querySelector("h1")?.textContent));
    await page.click("#cancel");
    await page.waitForSelector('tr[data-stage="gate"] .status-STAGE_CANCELLED');
    await page.close();
    client.close();
    // The only console errors: the standby's refusals and the streams the front cut (Chromium
    // logs each failed load).
    assert.deepEqual(
      errors.filter((e) =>
        !/status of 503 \(Service Unavailable\)|net::ERR_INCOMPLETE_CHUNKED_ENCODING/.test(e)
      ),
      [],
    );
  });
});
