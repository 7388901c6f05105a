/**
 * `deno task docs`: rewrites the configuration table in README.md (between its
 * `config-table` markers) from the settings in `mod/config/config.ts`. A test fails when the
 * README's table differs from the settings.
 *
 * @module
 */

import { settingsTable } from "../mod/config/config.ts";

const START = "<!-- config-table:start -->";
const END = "<!-- config-table:end -->";
const path = new URL("../README.md", import.meta.url);
const readme = await Deno.readTextFile(path);
const from = readme.indexOf(START);
const to = readme.indexOf(END);
if (from === -1 || to === -1) throw new Error(`README.md lacks the ${START} / ${END} markers`);
await Deno.writeTextFile(
  path,
  `${readme.slice(0, from + START.length)}\n\n${settingsTable()}\n\n${readme.slice(to)}`,
);
console.error("README.md: configuration table updated");
