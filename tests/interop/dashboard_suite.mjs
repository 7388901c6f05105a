// The web dashboard in a real browser, against `main.ts serve` with real workers and a pipeline,
// checking what a person sees: workers and their phases and tenants (filtered), pipelines
// updating live on the overview, log lines arriving live (numbered, stderr marked, ANSI colours),
// a link to a line, the download, the events timeline, a pipeline's graph with an approval
// clicked through (or, in Chromium, reached and pressed with the keyboard), the dark theme at a
// phone's width, the sign-in kept for the tab, and a viewer who is not shown the buttons; no
// console errors. `full` adds what only Chromium runs: 100,000 lines in the virtual list (with
// its memory) and a restart of serve with the pages open.
//
// Screenshots of each page go to tests/interop/screenshots/ (Chromium) and
// tests/interop/screenshots/firefox/; DASHBOARD_DOCS=1 copies Chromium's to docs/screenshots/.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadContract, startOttoscaler, tempDir, unary, waitFor } from "./support.mjs";
import {
  BROWSERS,
  freePort,
  openPage,
  shot as saveShot,
  tabTo,
  texts,
} from "./dashboard_support.mjs";

const v1 = loadContract();
const OPERATOR = "op-token-0123456789abcdef";
const VIEWER = "viewer-token-0123456789abcdef";
const APPROVAL = 7;
const LIGHT = "rgb(255, 255, 255)";
const DARK = "rgb(13, 17, 23)";

/** The dashboard's tests in `kind` (a key of BROWSERS); `full`: also the long ones. */
export function dashboardSuite(kind, { full }) {
  const { name, launch } = BROWSERS[kind];
  const chromium = kind === "chromium";
  // Firefox runs dark throughout (see BROWSERS), Chromium light but for one page.
  const theme = chromium ? LIGHT : DARK;
  const shot = (page, file) => saveShot(page, chromium ? "" : kind, file);

  describe(`the web dashboard in ${name}`, () => {
    let browser;
    let closeBrowser;
    const errors = [];
    const downloads = tempDir("ottoscaler-dashboard-downloads-");

    before(async () => {
      // Pages open in a context of their own, which is where both protocols (CDP and BiDi) let
      // downloads be sent to a folder.
      const launched = await launch();
      closeBrowser = () => launched.close();
      browser = await launched.createBrowserContext({
        downloadBehavior: { policy: "allow", downloadPath: downloads },
      });
    });

    after(async () => {
      await closeBrowser?.();
      rmSync(downloads, { recursive: true, force: true });
    });

    describe("open (loopback, no authentication configured)", () => {
      let ottoscaler;
      let client;
      let base;
      let gate;
      const gateDir = tempDir("ottoscaler-dashboard-gate-");

      before(async () => {
        const port = await freePort();
        ottoscaler = await startOttoscaler({
          env: { HTTP_PORT: String(port) },
        });
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
        "shows workers live with their tenants, filtered; a worker's log arriving line by line",
        { timeout: 120_000 },
        async () => {
          const page = await openPage(browser, errors);
          await page.goto(`${base}/`);
          await page.waitForSelector("#workers tbody");
          assert.equal(
            await page.$eval(
              "body",
              (b) => getComputedStyle(b).backgroundColor,
            ),
            theme,
          );
          // Started after the page opened: the rows must arrive through the live stream.
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
            metadata: { tenant: "team-a" },
            triggeredBy: "ignored-when-metadata-names-one",
          });
          assert.equal(res.status, "SUCCESS");
          const other = await unary(client, "ScaleUp", {
            taskId: "web-other",
            workerCount: 1,
            buildConfig: { command: "true" },
            triggeredBy: "nightly",
          });
          assert.equal(other.status, "SUCCESS");
          const worker = "otto-agent-web-logs-1";
          await page.waitForSelector(
            `tr[data-worker="${worker}"] .phase-running`,
          );
          await page.waitForSelector(
            'tr[data-worker="otto-agent-web-other-1"] .phase-succeeded',
          );
          const row = (id) => texts(page, `tr[data-worker="${id}"] td`);
          assert.deepEqual((await row(worker)).slice(1, 4), [
            "web-logs",
            "team-a",
            "running",
          ]);
          assert.deepEqual((await row("otto-agent-web-other-1")).slice(1, 4), [
            "web-other",
            "nightly",
            "succeeded",
          ]);
          await shot(page, "overview");
          // The tenant filter: only team-a's worker; kept in the address, so a reload keeps it.
          await page.select("#filter-tenant", "team-a");
          const shownWorkers = () =>
            page.$$eval(
              "#workers tbody tr",
              (r) => r.map((x) => x.dataset.worker),
            );
          assert.deepEqual(await shownWorkers(), [worker]);
          assert.equal(new URL(page.url()).search, "?tenant=team-a");
          await page.reload();
          await page.waitForSelector(`tr[data-worker="${worker}"]`);
          assert.equal(
            await page.$eval("#filter-tenant", (s) => s.value),
            "team-a",
          );
          assert.deepEqual(await shownWorkers(), [worker]);
          // The phase filter, the same way.
          await page.select("#filter-tenant", "");
          await page.select("#filter-phase", "succeeded");
          assert.deepEqual(await shownWorkers(), ["otto-agent-web-other-1"]);
          await page.select("#filter-phase", "");

          await page.click(`tr[data-worker="${worker}"] a`);
          await page.waitForFunction(() =>
            document.querySelector("#count")?.textContent === "60 lines"
          );
          // stdout and stderr are read apart, so where the stderr line falls is not fixed: rows
          // are found by their text.
          const line = (text) =>
            page.$$eval("#log .row", (rows, t) => {
              const r = rows.find((x) => x.querySelector(".m")?.textContent === t);
              return r && {
                n: Number(r.getAttribute("data-n")),
                cls: r.className,
                spans: [...r.querySelectorAll(".m span")].map((s) => s.className),
              };
            }, text);
          // Following, the newest lines are drawn (a virtual list draws only what is near view).
          await page.waitForSelector("#L60");
          await page.click("#follow");
          await page.$eval("#log", (n) => (n.scrollTop = 0));
          await page.waitForSelector("#L1");
          await shot(page, "worker-log");
          const plain = await line("plain line 1");
          assert.ok(plain, "the first line is not shown");
          // ANSI colours become classes, not escape characters on screen.
          const coloured = await line("red and bold green");
          assert.deepEqual(coloured?.spans, ["a-31", "a-b a-32"]);
          const stderr = await line("to stderr");
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
          assert.equal((await line("after the gate"))?.n, 61);
          // Download: the whole log as a file, one numbered line each.
          await page.click("#download");
          const file = join(downloads, `${worker}.log`);
          let saved = "";
          await waitFor(
            () => {
              try {
                saved = readFileSync(file, "utf8");
              } catch { /* not yet */ }
              return saved.split("\n").length === 62;
            },
            () => `the download ${file}: ${JSON.stringify(saved.slice(0, 200))}`,
          );
          const lines = saved.trimEnd().split("\n");
          assert.deepEqual(
            lines.map((l) => Number(l.split("\t")[0])),
            Array.from({ length: 61 }, (_, i) => i + 1),
          );
          assert.ok(lines.includes(`${plain.n}\tstdout\tplain line 1`));
          assert.deepEqual(lines.at(-1), "61\tstdout\tafter the gate");
          assert.ok(lines.includes(`${stderr.n}\tstderr\tto stderr`));

          // A link to a line opens the page at that line, marked, with following paused.
          const twelve = (await line("line 12")).n;
          const linked = await openPage(browser, errors);
          await linked.goto(`${base}/workers/${worker}#L${twelve}`);
          await linked.waitForSelector(`#L${twelve}.target`);
          assert.equal(
            await linked.$eval(`#L${twelve} .m`, (n) => n.textContent),
            "line 12",
          );
          assert.equal(
            await linked.$eval(
              "#follow",
              (n) => n.getAttribute("aria-pressed"),
            ),
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

      if (full) {
        it(
          "keeps a worker with 100,000 lines in a virtual list, in bounded memory",
          {
            timeout: 300_000,
          },
          async () => {
            const res = await unary(client, "ScaleUp", {
              taskId: "web-big",
              workerCount: 1,
              buildConfig: { command: "seq 1 100000" },
            });
            assert.equal(res.status, "SUCCESS");
            const page = await openPage(browser, errors);
            await page.goto(`${base}/workers/otto-agent-web-big-1`);
            await page.waitForFunction(
              () =>
                document.querySelector("#count")?.textContent ===
                  "100000 lines",
              { timeout: 240_000 },
            );
            // Only the rows near the view are in the document, not 100,000.
            const drawn = await page.$$eval("#log .row", (r) => r.length);
            assert.ok(
              drawn > 0 && drawn < 200,
              `${drawn} rows in the document`,
            );
            const { JSHeapUsedSize } = await page.metrics();
            // The lines themselves, as plain arrays: some megabytes, nowhere near a row each.
            assert.ok(
              JSHeapUsedSize < 64 * 2 ** 20,
              `${JSHeapUsedSize} bytes of JS heap`,
            );
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
          },
        );
      }

      it(
        "draws a pipeline's graph, live on the overview too, and an approval is given",
        { timeout: 120_000 },
        async () => {
          // The overview is open before the pipeline exists: it arrives, and changes, live.
          const overview = await openPage(browser, errors);
          await overview.goto(`${base}/`);
          await overview.waitForSelector("#pipelines tbody");
          const stream = client.ExecutePipeline({
            pipelineId: "web-release",
            metadata: { tenant: "team-r" },
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
          const onOverview = 'tr[data-pipeline="web-release"]';
          await overview.waitForSelector(
            `${onOverview} [data-stage="approve"].status-STAGE_RUNNING`,
          );
          assert.deepEqual(
            await texts(overview, `${onOverview} td`).then((t) => t.slice(0, 2)),
            [
              "web-release",
              "team-r",
            ],
          );
          // Its workers carry the pipeline's tenant.
          await overview.select("#filter-tenant", "team-r");
          const tenantWorkers = await overview.$$eval(
            "#workers tbody tr",
            (r) => r.map((x) => x.dataset.worker),
          );
          assert.ok(tenantWorkers.length >= 4, `${tenantWorkers}`);
          assert.ok(
            tenantWorkers.every((w) => w.startsWith("otto-agent-web-release-")),
          );
          await overview.select("#filter-tenant", "");
          await shot(overview, "overview-pipeline");

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
          if (chromium) {
            // Keyboard only: Tab to the button, Enter.
            await tabTo(page, "Approve approve");
            await page.keyboard.press("Enter");
          } else {
            const approve = await page.waitForSelector(
              "xpath///button[text()='Approve approve']",
            );
            await approve.click();
          }
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
          await page.waitForFunction(() =>
            document.querySelectorAll("#actions button").length === 0
          );
          await shot(page, "pipeline-done");
          // The overview followed, without a reload (looked at: a hidden tab does not draw).
          await overview.bringToFront();
          await overview.waitForSelector(
            `${onOverview} [data-stage="deploy"].status-STAGE_COMPLETED`,
          );
          assert.equal(await overview.$$eval(onOverview, (r) => r.length), 1);
          await overview.close();
          await page.close();
        },
      );

      it(
        "follows the dark theme and fits a phone's width",
        { timeout: 60_000 },
        async () => {
          const page = await openPage(browser, errors);
          await page.setViewport({ width: 390, height: 844 });
          if (chromium) {
            await page.setViewport({
              width: 390,
              height: 844,
              isMobile: true,
              hasTouch: true,
            });
            await page.emulateMediaFeatures([{
              name: "prefers-color-scheme",
              value: "dark",
            }]);
          }
          await page.goto(`${base}/pipelines/web-release`);
          await page.waitForSelector(
            'svg.dag g.st-STAGE_COMPLETED[data-stage="deploy"]',
          );
          assert.equal(
            await page.$eval(
              "body",
              (b) => getComputedStyle(b).backgroundColor,
            ),
            DARK,
          );
          // No sideways scrolling of the page itself: wide tables scroll in their own box.
          assert.ok(
            await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
            "the page is wider than the phone",
          );
          await shot(page, "pipeline-dark-phone");
          await page.goto(`${base}/`);
          await page.waitForSelector('tr[data-pipeline="web-release"]');
          assert.ok(
            await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
            "the overview is wider than the phone",
          );
          await shot(page, "overview-dark-phone");
          await page.close();
        },
      );
    });

    if (full) restartSuite(() => browser);

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
        "asks for a token kept for the tab; a viewer sees no buttons, an operator cancels",
        { timeout: 120_000 },
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
          assert.equal(
            await page.$$eval("#actions button", (b) => b.length),
            0,
          );
          await shot(page, "pipeline-viewer");
          // The token is kept for the tab: a reload stays signed in; another tab asks again.
          await page.reload();
          await page.waitForSelector('svg.dag g[data-stage="gate"]');
          assert.match(
            await page.$eval("#who", (n) => n.textContent),
            /dashboard \(viewer\)/,
          );
          assert.equal(await page.$("form.signin"), null);
          const other = await openPage(browser, errors);
          await other.goto(`${base}/pipelines/web-gated`);
          await other.waitForSelector("form.signin");
          await other.close();

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
}

/** Chromium: a restart of serve with the pages open (the log and the overview). */
function restartSuite(browser) {
  describe("a restart of serve with the pages open", () => {
    const stateDir = tempDir("ottoscaler-dashboard-restart-");
    const gate = join(stateDir, "..", `${stateDir.split("/").at(-1)}-gate`);
    let ottoscaler;

    after(async () => {
      writeFileSync(gate, ""); // the worker may end, whatever happened
      if (ottoscaler) await ottoscaler.stop();
      rmSync(stateDir, { recursive: true, force: true });
      rmSync(gate, { force: true });
    });

    it(
      "the log resumes after its last line and the overview replaces its lists: no gap, nothing twice",
      {
        timeout: 180_000,
      },
      async () => {
        const port = await freePort();
        const env = { HTTP_PORT: String(port) };
        ottoscaler = await startOttoscaler({ env, stateDir });
        const connect = () =>
          new v1.OttoscalerService(
            ottoscaler.address,
            grpc.credentials.createInsecure(),
          );
        let client = connect();
        const script = "seq 1 40; while [ ! -e " + gate +
          " ]; do sleep 0.1; done; seq 41 80";
        const res = await unary(client, "ScaleUp", {
          taskId: "web-restart",
          workerCount: 1,
          buildConfig: { command: script },
        });
        assert.equal(res.status, "SUCCESS");
        const gated = client.ExecutePipeline({
          pipelineId: "web-restart-gate",
          stages: [{ stageId: "gate", type: APPROVAL, workerCount: 0 }],
        });
        gated.on("error", () => {}); // cut by the restart
        await new Promise((resolve) => gated.once("data", resolve));
        client.close();
        // While Ottoscaler is down, Chromium logs the refused reconnects: these pages' errors are
        // checked to be only those.
        const restartErrors = [];
        const overview = await openPage(browser(), restartErrors);
        await overview.goto(`http://127.0.0.1:${port}/`);
        await overview.waitForSelector(
          'tr[data-pipeline="web-restart-gate"] .status-STAGE_RUNNING',
        );
        await overview.waitForSelector(
          'tr[data-worker="otto-agent-web-restart-1"] .phase-running',
        );
        const page = await openPage(browser(), restartErrors);
        await page.goto(
          `http://127.0.0.1:${port}/workers/otto-agent-web-restart-1`,
        );
        await page.waitForFunction(() =>
          document.querySelector("#count")?.textContent === "40 lines"
        );
        // Ottoscaler stops (with the pages open: their streams must not hold the shutdown), the
        // worker goes on printing, Ottoscaler starts again on the same state and port.
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
        assert.equal(
          await page.$eval("#log > div", (n) => n.style.height),
          `${80 * 18}px`,
        );
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
              (r) =>
                r.map((
                  x,
                ) => [Number(x.dataset.n), x.querySelector(".m").textContent]),
            )
          ) rows.set(n, text);
        }
        assert.deepEqual(
          [...rows.keys()].sort((a, b) => a - b),
          Array.from({ length: 80 }, (_, i) => i + 1),
        );
        for (const [n, text] of rows) assert.equal(text, String(n));
        // The overview reconnected: what changed while it was away is there, each row once.
        client = connect();
        await unary(client, "ApproveStage", {
          pipelineId: "web-restart-gate",
          stageId: "gate",
          approved: true,
          approver: "test",
        });
        client.close();
        await overview.bringToFront(); // a hidden tab does not draw
        await overview.waitForSelector(
          'tr[data-worker="otto-agent-web-restart-1"] .phase-succeeded',
        );
        await overview.waitForSelector(
          'tr[data-pipeline="web-restart-gate"] .status-STAGE_COMPLETED',
        );
        assert.deepEqual(
          await overview.$$eval(
            "#workers tbody tr",
            (r) => r.map((x) => x.dataset.worker),
          ),
          ["otto-agent-web-restart-1"],
        );
        assert.deepEqual(
          await overview.$$eval(
            "#pipelines tbody tr",
            (r) => r.map((x) => x.dataset.pipeline),
          ),
          ["web-restart-gate"],
        );
        assert.deepEqual(
          restartErrors.filter((e) =>
            !/Failed to load resource: net::ERR_CONNECTION_REFUSED/.test(e)
          ),
          [],
        );
        await overview.close();
        await page.close();
      },
    );
  });
}
