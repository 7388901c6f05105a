/**
 * A chaos scenario with a name, so `deno task chaos --only NAME,...` can pick it.
 *
 * @module
 */

import type { ScenarioResult } from "./table.ts";

/** A scenario at a given size: runs once per call; `id` is what `--only` matches. */
export type Scenario = (() => Promise<ScenarioResult>) & { readonly id?: string };

/** Names a scenario. */
export function named(id: string, run: () => Promise<ScenarioResult>): Scenario {
  return Object.assign(run, { id });
}

/** The scenarios `only` (comma-separated ids) picks; all of them when it is undefined. */
export function pick(all: readonly Scenario[], only: string | undefined): Scenario[] {
  if (only === undefined) return [...all];
  const ids = only.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const known = all.map((s) => s.id).filter((id) => id !== undefined);
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length > 0) {
    throw new Error(`--only: no scenario ${unknown.join(", ")}; known: ${known.join(", ")}`);
  }
  return all.filter((s) => s.id !== undefined && ids.includes(s.id));
}
