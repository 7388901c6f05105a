/**
 * The pod cache's list-watch logic against a scripted API (pure logic: the cache against the real
 * API server is exercised by the conformance suite and the end-to-end tests).
 */

import assert from "node:assert/strict";
import { silentLogger } from "../telemetry/logger.ts";
import type { KubeApi, PodObject, WatchEvent } from "./api.ts";
import { KubeApiError } from "./errors.ts";
import { PodCache } from "./cache.ts";

const pod = (name: string, rv: number, phase = "Running", uid = `uid-${name}`): PodObject => ({
  metadata: { name, uid, resourceVersion: String(rv) },
  status: { phase },
});

/** One scripted answer to a watch: events to send, then how the stream ends. */
interface WatchScript {
  readonly events: WatchEvent<PodObject>[];
  readonly end?: KubeApiError;
}

function scriptedApi(lists: { items: PodObject[]; rv: string }[], watches: WatchScript[]) {
  const calls: string[] = [];
  const api: KubeApi = {
    server: "https://fake",
    get: () => Promise.reject(new Error("unused")),
    create: () => Promise.reject(new Error("unused")),
    replace: () => Promise.reject(new Error("unused")),
    mergePatch: () => Promise.reject(new Error("unused")),
    remove: () => Promise.reject(new Error("unused")),
    stream: () => Promise.reject(new Error("unused")),
    list: <T>() => {
      const next = lists.shift();
      calls.push(`list`);
      if (!next) return Promise.reject(new Error("no more lists"));
      return Promise.resolve({ items: next.items as T[], resourceVersion: next.rv });
    },
    watch: async <T>(
      _path: string,
      query: Record<string, string>,
      onEvent: (e: WatchEvent<T>) => void,
      signal: AbortSignal,
    ) => {
      calls.push(`watch@${query.resourceVersion}`);
      const script = watches.shift();
      if (!script) {
        // Nothing more scripted: hold the stream open until the cache stops.
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        return;
      }
      for (const event of script.events) onEvent(event as WatchEvent<T>);
      if (script.end) throw script.end;
    },
  };
  return { api, calls };
}

async function settle(calls: string[], count: number) {
  for (let i = 0; i < 500 && calls.length < count; i++) await new Promise((r) => setTimeout(r, 2));
}

Deno.test("the cache lists, then watches from the list's resourceVersion and resumes", async () => {
  const { api, calls } = scriptedApi([{ items: [pod("a", 5)], rv: "10" }], [
    {
      events: [
        { type: "ADDED", object: pod("b", 11, "Pending") },
        { type: "BOOKMARK", object: pod("", 12) },
      ],
    },
    { events: [{ type: "MODIFIED", object: pod("b", 13, "Succeeded") }] },
  ]);
  const cache = new PodCache({ api, namespace: "ns", labelSelector: "x=y", logger: silentLogger });
  const seen: string[] = [];
  cache.subscribe((p, change) => seen.push(`${change}:${p.metadata.name}:${p.status?.phase}`));
  await cache.start();
  await settle(calls, 4);
  await cache.close();
  assert.deepEqual(calls, ["list", "watch@10", "watch@12", "watch@13"], "resumes from the last rv");
  assert.deepEqual(seen, ["upsert:a:Running", "upsert:b:Pending", "upsert:b:Succeeded"]);
  assert.equal(cache.get("b")?.status?.phase, "Succeeded");
});

Deno.test("410 Gone relists, and pods gone meanwhile are reported deleted", async () => {
  const gone = new KubeApiError(410, "Expired", "too old resource version");
  const { api, calls } = scriptedApi(
    [{ items: [pod("a", 5), pod("b", 6)], rv: "10" }, { items: [pod("b", 30)], rv: "40" }],
    [{ events: [], end: gone }],
  );
  const cache = new PodCache({ api, namespace: "ns", labelSelector: "x=y", logger: silentLogger });
  const seen: string[] = [];
  cache.subscribe((p, change) => seen.push(`${change}:${p.metadata.name}`));
  await cache.start();
  await settle(calls, 4);
  await cache.close();
  assert.deepEqual(calls, ["list", "watch@10", "list", "watch@40"]);
  assert.equal(cache.lists, 2);
  assert.deepEqual(seen, ["upsert:a", "upsert:b", "upsert:b", "delete:a"]);
  assert.deepEqual(cache.all().map((p) => p.metadata.name), ["b"]);
});

Deno.test("an ERROR event with code 410 relists too; other failures back off and resume", async () => {
  const { api, calls } = scriptedApi(
    [{ items: [], rv: "1" }, { items: [], rv: "50" }],
    [
      { events: [], end: new KubeApiError(0, "NetworkError", "connection reset") },
      {
        events: [{
          type: "ERROR",
          object: { code: 410, reason: "Expired", message: "gone" } as unknown as PodObject,
        }],
      },
    ],
  );
  const cache = new PodCache({ api, namespace: "ns", labelSelector: "x=y", logger: silentLogger });
  await cache.start();
  await settle(calls, 5);
  await cache.close();
  assert.deepEqual(calls, ["list", "watch@1", "watch@1", "list", "watch@50"]);
});

Deno.test("a stale write never replaces a newer cached version", async () => {
  const { api } = scriptedApi([{ items: [pod("a", 20, "Running")], rv: "20" }], []);
  const cache = new PodCache({ api, namespace: "ns", labelSelector: "x=y", logger: silentLogger });
  await cache.start();
  cache.observe(pod("a", 15, "Pending"));
  assert.equal(cache.get("a")?.status?.phase, "Running");
  cache.observe(pod("a", 25, "Succeeded"));
  assert.equal(cache.get("a")?.status?.phase, "Succeeded");
  await cache.close();
});
