// Shared by the dashboard's browser tests: Debian's Chromium and Firefox ESR (installed through
// apt when missing; failing loudly when they cannot be), launched by puppeteer-core (CDP for
// Chromium, WebDriver BiDi for Firefox), pages that record console errors, screenshots.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { repo } from "./support.mjs";

const SHOTS = join(repo, "tests", "interop", "screenshots");
const DOCS = join(repo, "docs", "screenshots");

/** Runs apt-get (through sudo -n unless root); throws with its stderr when it fails. */
function apt(args, what) {
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const command = [...sudo, "apt-get", ...args];
  const r = spawnSync(command[0], command.slice(1), {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    encoding: "utf8",
  });
  if (r.status !== 0) {
    throw new Error(
      `${what} is missing and "${command.join(" ")}" failed (exit ${r.status}):\n${r.stderr}`,
    );
  }
}

/** The first of `candidates` that exists, after installing Debian's `pkg` when none does. */
function debianBrowser(what, pkg, candidates) {
  const found = () => candidates.find((p) => existsSync(p));
  if (found()) return found();
  apt(["update"], what);
  apt(["install", "-y", pkg], what);
  if (!found()) {
    throw new Error(
      `apt-get installed ${pkg}, but none of ${candidates.join(", ")} exists`,
    );
  }
  return found();
}

/** The browsers the dashboard is tested in: how to launch each. */
export const BROWSERS = {
  chromium: {
    name: "Chromium",
    launch: (options = {}) =>
      puppeteer.launch({
        executablePath: debianBrowser("Chromium", "chromium", [
          "/usr/bin/chromium",
          "/usr/bin/chromium-browser",
        ]),
        headless: true,
        args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        ...options,
      }),
  },
  firefox: {
    name: "Firefox",
    // Firefox runs in its dark theme (a preference: WebDriver BiDi cannot emulate media features
    // per page), Chromium in its light one with one page dark: both themes in both browsers.
    launch: (options = {}) =>
      puppeteer.launch({
        browser: "firefox",
        executablePath: debianBrowser("Firefox", "firefox-esr", [
          "/usr/bin/firefox-esr",
          "/usr/bin/firefox",
        ]),
        headless: true,
        extraPrefsFirefox: { "layout.css.prefers-color-scheme.content-override": 0 },
        ...options,
      }),
  },
};

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/**
 * A page (of `browser`, or a browser context) that records console errors and uncaught exceptions
 * (there must be none).
 */
export async function openPage(browser, errors) {
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

/**
 * Saves a screenshot of `page` as tests/interop/screenshots/<dir>/<name>.png; with
 * DASHBOARD_DOCS=1, Chromium's (dir "") are also copied to docs/screenshots/.
 */
export async function shot(page, dir, name) {
  const folder = join(SHOTS, dir);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.DASHBOARD_DOCS === "1" && dir === "") {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(file, join(DOCS, `${name}.png`));
  }
}

/** Texts of the elements matching `selector`. */
export const texts = (page, selector) =>
  page.$$eval(
    selector,
    (nodes) => nodes.map((n) => n.textContent?.trim() ?? ""),
  );

/** Presses Tab until the focused element's text is `text` (at most 40 times); fails if never. */
export async function tabTo(page, text) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    if (
      await page.evaluate(() => document.activeElement?.textContent?.trim()) ===
        text
    ) return;
  }
  throw new Error(`Tab never reached "${text}"`);
}
