// The web dashboard in a real browser: Debian's Chromium (installed through apt when missing),
// driven by puppeteer-core, against `main.ts serve` with real workers and a pipeline. It checks
// what a person sees: workers and their phases, log lines arriving live (numbered, stderr marked,
// ANSI colours), a link to a line, the events timeline, a pipeline's graph with an approval
// clicked through, and a viewer who is not shown the buttons. Screenshots of each page are saved
// under tests/interop/screenshots/ (DASHBOARD_DOCS=1 also copies them to docs/screenshots/).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import puppeteer from "puppeteer-core";
import { loadContract, repo, startOttoscaler, tempDir, unary } from "./support.mjs";

const v1 = loadContract();
const SHOTS = join(repo, "tests", "interop", "screenshots");
const DOCS = join(repo, "docs", "screenshots");
const OPERATOR = "op-token-0123456789abcdef";
const VIEWER = "viewer-token-0123456789abcdef";
const APPROVAL = 7;

/** Debian's Chromium; installed through apt when missing. Fails loudly when it cannot be. */
function chromium() {
  const candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
  const found = () => candidates.find((p) => existsSync(p));
  if (found()) return found();
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const run = (args) => {
    const r = spawnSync(sudo[0] ?? args[0], [
      ...sudo.slice(1),
      ...(sudo.length ? args : args.slice(1)),
    ], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      encoding: "utf8",
    });
    if (r.status !== 0) {
      throw new Error(
        `Chromium is missing and "${args.join(" ")}" failed (exit ${r.status}):\n${r.stderr}`,
      );
    }
  };
  run(["apt-get", "update"]);
  run(["apt-get", "install", "-y", "chromium"]);
  if (!found()) {
    throw new Error(
      "apt-get installed chromium, but no chromium executable is found",
    );
  }
  return found();
}

/** A free TCP port on loopback. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** A page that records console errors and uncaught exceptions (there must be none). */
async function openPage(browser, errors) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 800 });
  page.on("console", (m) => {
    if (m.type() === "error") {
      errors.push(`console: ${m.text()} (${page.url()})`);
    }
  });
  page.on(
    "pageerror",
    (e) => errors.push(`page error: ${e.message} (${page.url()})`),
  );
  return page;
}

async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.DASHBOARD_DOCS === "1") {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(file, join(DOCS, `${name}.png`));
  }
}

/** Texts of the elements matching `selector`. */
const texts = (page, selector) =>
  page.$$eval(
    selector,
    (nodes) => nodes.map((n) => n.textContent?.trim() ?? ""),
  );

describe("the web dashboard in Chromium", () => {
  let browser;
  const errors = [];

  before(async () => {
    browser = await puppeteer.launch({
      executablePath: chromium(),
      headless: true,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    });
  });

  after(async () => {
    await browser?.close();
  });

  describe("open (loopback, no authentication configured)", () => {
    let ottoscaler;
    let client;
    let base;
    let gate;
    const gateDir = tempDir("ottoscaler-dashboard-gate-");

    before(async () => {
      const port = await freePort();
      ottoscaler = await startOttoscaler({ env: { HTTP_PORT: String(port) } });
      base = `http://127.0.0.1:${port}`;
      client = new v1.OttoscalerService(
        ottoscaler.address,
        grpc.credentials.createInsecure(),
      );
    });

    after(async () => {
      client?.close();
      // Workers outlive Ottoscaler by design: the gated one is let finish, even after a failure.
      if (gate) writeFileSync(gate, "");
      if (ottoscaler) assert.equal(await ottoscaler.stop(), 0);
      rmSync(gateDir, { recursive: true, force: true });
    });

    it(
      "shows workers live, and a worker's log arriving line by line",
      { timeout: 120_000 },
      async () => {
        const page = await openPage(browser, errors);
        await page.goto(`${base}/`);
        await page.waitForSelector("#workers tbody");
        // Started after the page opened: the row must arrive through the live stream.
        gate = join(gateDir, "gate");
        const script = [
          "printf 'plain line 1\\n'",
          "printf '\\033[31mred\\033[0m and \\033[1;32mbold green\\033[0m\\n'",
          "echo 'to stderr' >&2",
          'i=4; while [ $i -le 60 ]; do echo "line $i"; i=$((i+1)); done',
          `while [ ! -e ${gate} ]; do sleep 0.1; done`,
          "echo 'after the gate'",
        ].join("; ");
        const res = await unary(client, "ScaleUp", {
          taskId: "web-logs",
          workerCount: 1,
          buildConfig: { command: script },
        });
        assert.equal(res.status, "SUCCESS");
        const worker = "otto-agent-web-logs-1";
        await page.waitForSelector(
          `tr[data-worker="${worker}"] .phase-running`,
        );
        assert.deepEqual(
          await texts(page, `tr[data-worker="${worker}"] td:nth-child(2)`),
          [
            "web-logs",
          ],
        );
        await shot(page, "overview");

        await page.click(`tr[data-worker="${worker}"] a`);
        await page.waitForFunction(() =>
          document.querySelector("#count")?.textContent === "60 lines"
        );
        // stdout and stderr are read apart, so where the stderr line falls is not fixed: rows are
        // found by their text.
        const row = (text) =>
          page.$$eval("#log .row", (rows, t) => {
            const r = rows.find((x) => x.querySelector(".m")?.textContent === t);
            return r && {
              n: Number(r.getAttribute("data-n")),
              cls: r.className,
              spans: [...r.querySelectorAll(".m span")].map((s) => s.className),
            };
          }, text);
        // Following, the newest lines are drawn (a virtual list draws only what is near the view).
        await page.waitForSelector("#L60");
        await page.click("#follow");
        await page.$eval("#log", (n) => (n.scrollTop = 0));
        await page.waitForSelector("#L1");
        await shot(page, "worker-log");
        assert.ok(await row("plain line 1"), "the first line is not shown");
        // ANSI colours become classes, not escape characters on screen.
        const coloured = await row("red and bold green");
        assert.deepEqual(coloured?.spans, ["a-31", "a-b a-32"]);
        const stderr = await row("to stderr");
        assert.match(stderr?.cls ?? "", /\bstderr\b/, "stderr not marked");
        const numbers = await page.$$eval(
          "#log .row",
          (r) => r.map((x) => Number(x.dataset.n)),
        );
        assert.deepEqual(
          numbers,
          Array.from({ length: numbers.length }, (_, i) => i + 1),
        );
        await page.click("#follow");
        // A line that arrives after the page was drawn shows up live, numbered next.
        writeFileSync(gate, "");
        await page.waitForFunction(() =>
          document.querySelector("#count")?.textContent === "61 lines"
        );
        assert.equal((await row("after the gate"))?.n, 61);

        // A link to a line opens the page at that line, marked, with following paused.
        const twelve = (await row("line 12")).n;
        const linked = await openPage(browser, errors);
        await linked.goto(`${base}/workers/${worker}#L${twelve}`);
        await linked.waitForSelector(`#L${twelve}.target`);
        assert.equal(
          await linked.$eval(`#L${twelve} .m`, (n) => n.textContent),
          "line 12",
        );
        assert.equal(
          await linked.$eval("#follow", (n) => n.getAttribute("aria-pressed")),
          "false",
        );
        await linked.close();

        await page.goto(`${base}/events`);
        await page.waitForSelector(`tr[data-event="${worker}:3"]`);
        const kinds = await page.$$eval(
          `tr[data-event^="${worker}:"] td:nth-child(4)`,
          (n) => n.map((x) => x.textContent),
        );
        assert.deepEqual(kinds, ["COMPLETED", "RUNNING", "CREATED"]);
        await shot(page, "events");
        await page.close();
      },
    );

    it("keeps a worker with 100,000 lines in a virtual list", {
      timeout: 300_000,
    }, async () => {
      const res = await unary(client, "ScaleUp", {
        taskId: "web-big",
        workerCount: 1,
        buildConfig: { command: "seq 1 100000" },
      });
      assert.equal(res.status, "SUCCESS");
      const page = await openPage(browser, errors);
      await page.goto(`${base}/workers/otto-agent-web-big-1`);
      await page.waitForFunction(
        () => document.querySelector("#count")?.textContent === "100000 lines",
        { timeout: 240_000 },
      );
      // Only the rows near the view are in the document, not 100,000.
      const drawn = await page.$$eval("#log .row", (r) => r.length);
      assert.ok(drawn > 0 && drawn < 200, `${drawn} rows in the document`);
      await page.waitForSelector("#L100000");
      assert.equal(
        await page.$eval("#L100000 .m", (n) => n.textContent),
        "100000",
      );
      // A link deep into it lands on the line.
      await page.evaluate(() => (location.hash = "#L54321"));
      await page.waitForSelector("#L54321.target");
      assert.equal(
        await page.$eval("#L54321 .m", (n) => n.textContent),
        "54321",
      );
      // Search finds the next match and scrolls to it.
      await page.type('input[type="search"]', "77777");
      await page.keyboard.press("Enter");
      await page.waitForSelector("#L77777 mark");
      assert.ok((await page.$$eval("#log .row", (r) => r.length)) < 200);
      await page.close();
    });

    it(
      "draws a pipeline's graph and an approval is clicked through",
      { timeout: 120_000 },
      async () => {
        const stream = client.ExecutePipeline({
          pipelineId: "web-release",
          stages: [
            {
              stageId: "build",
              workerCount: 1,
              command: ["sh", "-c", "echo build"],
            },
            {
              stageId: "test",
              workerCount: 2,
              dependsOn: ["build"],
              command: ["sh", "-c", "echo test"],
            },
            {
              stageId: "lint",
              workerCount: 1,
              dependsOn: ["build"],
              command: ["sh", "-c", "echo lint"],
            },
            {
              stageId: "approve",
              type: APPROVAL,
              workerCount: 0,
              dependsOn: ["test", "lint"],
            },
            {
              stageId: "deploy",
              workerCount: 1,
              dependsOn: ["approve"],
              command: ["sh", "-c", "echo deploy"],
            },
          ],
        });
        const last = {};
        const started = new Promise((resolve) => stream.once("data", resolve));
        const ended = new Promise((resolve, reject) => {
          stream.on("data", (p) => (last[p.stageId] = p.status));
          stream.on("end", resolve);
          stream.on("error", reject);
        });
        await started; // the pipeline exists: its page can be opened
        const page = await openPage(browser, errors);
        await page.goto(`${base}/pipelines/web-release`);
        await page.waitForSelector('svg.dag g[data-stage="deploy"]');
        assert.deepEqual(
          await page.$$eval(
            "svg.dag g.node",
            (n) => n.map((g) => g.getAttribute("data-stage")),
          ),
          ["build", "test", "lint", "approve", "deploy"],
        );
        assert.equal(
          await page.$$eval("svg.dag path.edge", (n) => n.length),
          5,
        );
        await page.waitForSelector(
          'svg.dag g.st-STAGE_WAITING_APPROVAL[data-stage="approve"]',
        );
        assert.deepEqual(
          await texts(page, 'tr[data-stage="test"] td:nth-child(6) a'),
          [
            "otto-agent-web-release-test-a1-1",
            "otto-agent-web-release-test-a1-2",
          ],
        );
        await shot(page, "pipeline-waiting");
        const approve = await page.waitForSelector(
          "xpath///button[text()='Approve approve']",
        );
        await approve.click();
        await page.waitForSelector(
          'svg.dag g.st-STAGE_COMPLETED[data-stage="deploy"]',
        );
        assert.match(
          await page.$eval("#note", (n) => n.textContent),
          /stage approve of pipeline web-release approved/,
        );
        await ended;
        assert.equal(last.deploy, "STAGE_COMPLETED");
        // A finished pipeline offers no buttons.
        await page.waitForFunction(() => document.querySelectorAll("#actions button").length === 0);
        await shot(page, "pipeline-done");
        await page.close();
      },
    );

    it("follows the dark theme and fits a phone's width", { timeout: 60_000 }, async () => {
      const page = await openPage(browser, errors);
      await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
      await page.goto(`${base}/pipelines/web-release`);
      await page.waitForSelector('svg.dag g.st-STAGE_COMPLETED[data-stage="deploy"]');
      assert.equal(
        await page.$eval("body", (b) => getComputedStyle(b).backgroundColor),
        "rgb(13, 17, 23)",
      );
      // No sideways scrolling of the page itself: wide tables scroll in their own box.
      assert.ok(
        await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
        "the page is wider than the phone",
      );
      await shot(page, "pipeline-dark-phone");
      await page.close();
    });
  });

  describe("a restart of serve with the page open", () => {
    const stateDir = tempDir("ottoscaler-dashboard-restart-");
    const gate = join(stateDir, "..", `${stateDir.split("/").at(-1)}-gate`);
    let ottoscaler;

    after(async () => {
      writeFileSync(gate, ""); // the worker may end, whatever happened
      if (ottoscaler) await ottoscaler.stop();
      rmSync(stateDir, { recursive: true, force: true });
      rmSync(gate, { force: true });
    });

    it("the log reconnects and resumes after its last line: no gap, no line twice", {
      timeout: 180_000,
    }, async () => {
      const port = await freePort();
      const env = { HTTP_PORT: String(port) };
      ottoscaler = await startOttoscaler({ env, stateDir });
      const client = new v1.OttoscalerService(
        ottoscaler.address,
        grpc.credentials.createInsecure(),
      );
      const script = "seq 1 40; while [ ! -e " + gate + " ]; do sleep 0.1; done; seq 41 80";
      const res = await unary(client, "ScaleUp", {
        taskId: "web-restart",
        workerCount: 1,
        buildConfig: { command: script },
      });
      client.close();
      assert.equal(res.status, "SUCCESS");
      // While Ottoscaler is down, Chromium logs the refused reconnects: this page's errors are
      // checked to be only those.
      const restartErrors = [];
      const page = await openPage(browser, restartErrors);
      await page.goto(`http://127.0.0.1:${port}/workers/otto-agent-web-restart-1`);
      await page.waitForFunction(() =>
        document.querySelector("#count")?.textContent === "40 lines"
      );
      // Ottoscaler stops (with the page open: its stream must not hold the shutdown), the worker
      // goes on printing, Ottoscaler starts again on the same state and port.
      assert.equal(await ottoscaler.stop(), 0);
      await page.waitForFunction(() =>
        /reconnecting/.test(document.querySelector("h1")?.textContent ?? "")
      );
      writeFileSync(gate, "");
      ottoscaler = await startOttoscaler({ env, stateDir });
      await page.waitForFunction(() =>
        document.querySelector("#count")?.textContent === "80 lines"
      );
      // 80 lines held (the list's height is 80 rows: nothing twice) ...
      assert.equal(await page.$eval("#log > div", (n) => n.style.height), `${80 * 18}px`);
      // ... and every one of 1..80 is there, each row's number its own line (seq prints n).
      await page.click("#follow");
      const rows = new Map();
      for (const top of [0, 400, 800, 1200]) {
        await page.$eval("#log", (n, t) => (n.scrollTop = t), top);
        // Drawn for this position: the first row is 20 above the first one in view.
        await page.waitForFunction(() => {
          const box = document.querySelector("#log");
          const first = Math.max(0, Math.floor(box.scrollTop / 18) - 20) + 1;
          return Number(box.querySelector(".row")?.dataset.n) === first;
        });
        for (
          const [n, text] of await page.$$eval(
            "#log .row",
            (r) => r.map((x) => [Number(x.dataset.n), x.querySelector(".m").textContent]),
          )
        ) rows.set(n, text);
      }
      assert.deepEqual(
        [...rows.keys()].sort((a, b) => a - b),
        Array.from({ length: 80 }, (_, i) => i + 1),
      );
      for (const [n, text] of rows) assert.equal(text, String(n));
      assert.deepEqual(
        restartErrors.filter((e) =>
          !/Failed to load resource: net::ERR_CONNECTION_REFUSED/.test(e)
        ),
        [],
      );
      await page.close();
    });
  });

  describe("with tokens: sign-in, viewer and operator", () => {
    let ottoscaler;
    let client;
    let base;
    const dir = tempDir("ottoscaler-dashboard-");

    before(async () => {
      const tokens = join(dir, "tokens.csv");
      writeFileSync(
        tokens,
        `${OPERATOR},ci-bot,operator\n${VIEWER},dashboard,viewer\n`,
      );
      const port = await freePort();
      ottoscaler = await startOttoscaler({
        env: { HTTP_PORT: String(port), AUTH_TOKENS_FILE: tokens },
      });
      base = `http://127.0.0.1:${port}`;
      client = new v1.OttoscalerService(
        ottoscaler.address,
        grpc.credentials.createInsecure(),
      );
    });

    after(async () => {
      client?.close();
      if (ottoscaler) assert.equal(await ottoscaler.stop(), 0);
      rmSync(dir, { recursive: true, force: true });
    });

    it(
      "asks for a token; a viewer sees the pipeline without buttons, an operator cancels it",
      {
        timeout: 120_000,
      },
      async () => {
        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${OPERATOR}`);
        const stream = client.ExecutePipeline({
          pipelineId: "web-gated",
          stages: [{ stageId: "gate", type: APPROVAL, workerCount: 0 }],
        }, md);
        const started = new Promise((resolve) => stream.once("data", resolve));
        const ended = new Promise((resolve, reject) => {
          stream.on("data", () => {});
          stream.on("end", resolve);
          stream.on("error", reject);
        });
        await started;
        // The API refuses without a token, as the gRPC API does.
        const refused = await fetch(`${base}/api/pipelines`);
        assert.equal(refused.status, 401);
        const denied = await fetch(`${base}/api/pipelines/web-gated/cancel`, {
          method: "POST",
          headers: { authorization: `Bearer ${VIEWER}` },
        });
        assert.equal(denied.status, 403);
        assert.match(
          (await denied.json()).message,
          /dashboard \(role viewer\) may not call OttoscalerService\/CancelPipeline/,
        );

        const page = await openPage(browser, errors);
        await page.goto(`${base}/pipelines/web-gated`);
        await page.waitForSelector("form.signin");
        await shot(page, "sign-in");
        await page.type("#token", VIEWER);
        await page.keyboard.press("Enter");
        await page.waitForSelector(
          'svg.dag g.st-STAGE_WAITING_APPROVAL[data-stage="gate"]',
        );
        assert.match(
          await page.$eval("#who", (n) => n.textContent),
          /dashboard \(viewer\)/,
        );
        assert.equal(await page.$$eval("#actions button", (b) => b.length), 0);
        await shot(page, "pipeline-viewer");

        // Sign out, sign in as the operator: the buttons appear; Cancel ends the pipeline.
        await page.click("#who button");
        await page.waitForSelector("form.signin");
        await page.type("#token", OPERATOR);
        await page.keyboard.press("Enter");
        await page.waitForSelector("#cancel");
        assert.deepEqual(await texts(page, "#actions button"), [
          "Approve gate",
          "Reject gate",
          "Cancel pipeline",
        ]);
        await page.click("#cancel");
        await page.waitForSelector(
          'tr[data-stage="gate"] .status-STAGE_CANCELLED',
        );
        await ended;
        await page.close();
      },
    );
  });

  it("logged no console errors", () => {
    assert.deepEqual(errors, []);
  });
});
