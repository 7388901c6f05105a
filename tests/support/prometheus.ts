/**
 * The Prometheus text format, read by a real parser (npm `parse-prometheus-text-format`, a port
 * of Prometheus's own text parser, which throws on a line it cannot read), plus the checks it does
 * not make: every sample belongs to a family with `# HELP` and `# TYPE`, and each histogram
 * series has cumulative buckets ending with `+Inf` equal to its `_count`.
 *
 * That parser flattens a histogram into one unlabelled series (its `flattenMetrics` keeps only
 * samples without labels), so the series of a labelled histogram are read from the sample lines
 * here ({@linkcode histogram}), after the parser accepted the whole text.
 *
 * @module
 */

import assert from "node:assert/strict";
// @ts-types="./prometheus_parser.d.ts"
import parsePrometheusTextFormat from "parse-prometheus-text-format";

/** One metric family as the parser returns it. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  readonly metrics: readonly Sample[];
}

/** One sample (or, for a histogram, one labelled series with its buckets). */
export interface Sample {
  readonly value?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly buckets?: Readonly<Record<string, string>>;
  readonly count?: string;
  readonly sum?: string;
}

/** Parses `text` strictly; throws (assertion) on anything malformed. */
export function parseMetrics(text: string): Map<string, Family> {
  const all = parsePrometheusTextFormat(text) as Family[];
  for (const family of all.filter((f) => f.type === "HISTOGRAM")) {
    for (const labels of seriesLabels(text, family.name)) histogram(text, family.name, labels);
  }
  const families = all;
  const byName = new Map<string, Family>();
  for (const family of families) {
    assert.ok(!byName.has(family.name), `family ${family.name} appears twice`);
    assert.ok(family.help, `family ${family.name} has no # HELP`);
    assert.notEqual(family.type, "UNTYPED", `family ${family.name} has no # TYPE`);
    byName.set(family.name, family);
  }
  return byName;
}

/** The sample of `name` whose labels include `labels`; throws when there is none. */
export function sample(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): Sample {
  const family = families.get(name);
  assert.ok(family, `no metric ${name}; have ${[...families.keys()].join(", ")}`);
  const found = family.metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)
  );
  assert.ok(found, `no ${name}${JSON.stringify(labels)}: ${JSON.stringify(family.metrics)}`);
  return found;
}

/** The value of a counter or gauge sample (0 when the labelled series does not exist yet). */
export function valueOf(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name);
  assert.ok(family, `no metric ${name}`);
  const found = family.metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)
  );
  return found ? Number(found.value) : 0;
}

/** One histogram series. */
export interface HistogramSeries {
  readonly count: number;
  readonly sum: number;
  /** Cumulative counts by upper bound, ascending, `+Inf` last. */
  readonly buckets: readonly (readonly [number, number])[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function samples(text: string) {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    const match = line.match(SAMPLE);
    if (!match || line.startsWith("#")) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? "").matchAll(LABEL)) labels[k] = v;
    out.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return out;
}

function seriesLabels(text: string, name: string): Record<string, string>[] {
  return samples(text).filter((s) => s.name === `${name}_count`).map((s) => s.labels);
}

/** The histogram series of `name` with exactly `labels` (checked as the module doc says). */
export function histogram(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): HistogramSeries {
  const same = (l: Record<string, string>) => {
    const { le: _le, ...rest } = l;
    return JSON.stringify(Object.entries(rest).sort()) ===
      JSON.stringify(Object.entries(labels).sort());
  };
  const mine = samples(text).filter((s) => same(s.labels));
  const count = mine.find((s) => s.name === `${name}_count`);
  const sum = mine.find((s) => s.name === `${name}_sum`);
  assert.ok(count && sum, `no histogram series ${name}${JSON.stringify(labels)}`);
  const buckets = mine.filter((s) => s.name === `${name}_bucket`)
    .map((s) => [s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), s.value] as const)
    .sort((a, b) => a[0] - b[0]);
  assert.equal(buckets.at(-1)?.[0], Infinity, `${name}: the last bucket must be +Inf`);
  for (let i = 1; i < buckets.length; i++) {
    assert.ok(buckets[i][1] >= buckets[i - 1][1], `${name}: buckets must be cumulative`);
  }
  assert.equal(buckets.at(-1)![1], count.value, `${name}: +Inf must equal _count`);
  return { count: count.value, sum: sum.value, buckets };
}

/** A parsed scrape: the families, and the text for {@linkcode histogram}. */
export interface Scrape {
  readonly families: Map<string, Family>;
  readonly text: string;
}

/** Fetches and parses `/metrics` of a server at `httpUrl`. */
export async function scrape(httpUrl: string): Promise<Scrape> {
  const response = await fetch(`${httpUrl}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
  const text = await response.text();
  return { families: parseMetrics(text), text };
}
