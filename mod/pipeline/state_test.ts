import assert from "node:assert/strict";
import { compilePipeline } from "./compile.ts";
import { FilePipelineStore, type PipelineState, type StageState } from "./state.ts";

const limits = { maxWorkersPerStage: 10, requireCommand: true };

function pipeline(id: string, stages: Record<string, Partial<StageState>>): PipelineState {
  const definition = compilePipeline({
    pipelineId: id,
    stages: Object.keys(stages).map((stageId) => ({
      stageId,
      workerCount: 1,
      dependsOn: [],
      command: ["true"],
    })),
  }, limits);
  const full: Record<string, StageState> = {};
  for (const [stageId, st] of Object.entries(stages)) {
    full[stageId] = {
      status: "STAGE_PENDING",
      attempt: 1,
      message: "",
      errorMessage: "",
      workers: [],
      successful: 0,
      failed: 0,
      ...st,
    };
  }
  return {
    definition,
    repository: "",
    commitSha: "",
    createdAt: "2026-01-01T00:00:00.000Z",
    cancelled: false,
    stages: full,
  };
}

Deno.test("file pipeline store: prune removes finished pipelines after their retention", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-pipelines-" });
  try {
    const store = new FilePipelineStore(dir);
    const hour = 3600_000;
    const now = Date.parse("2026-01-02T12:00:00.000Z");
    const at = (ms: number) => new Date(ms).toISOString();
    // Finished 25 h ago (its last stage), finished 1 h ago, still running, failed long ago.
    await store.save(pipeline("old", {
      a: { status: "STAGE_COMPLETED", completedAt: at(now - 30 * hour) },
      b: { status: "STAGE_SKIPPED", completedAt: at(now - 25 * hour) },
    }));
    await store.save(pipeline("recent", {
      a: { status: "STAGE_COMPLETED", completedAt: at(now - 30 * hour) },
      b: { status: "STAGE_FAILED", completedAt: at(now - hour) },
    }));
    await store.save(pipeline("running", {
      a: { status: "STAGE_COMPLETED", completedAt: at(now - 30 * hour) },
      b: { status: "STAGE_RUNNING" },
    }));
    await store.save(pipeline("cancelled", {
      a: { status: "STAGE_CANCELLED", completedAt: at(now - 48 * hour) },
    }));
    await Deno.writeTextFile(`${dir}/garbage.json`, "{ not json");

    assert.deepEqual((await store.prune(24 * hour, now)).sort(), ["cancelled", "old"]);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, ["garbage.json", "recent.json", "running.json"]);
    assert.equal(await Deno.readTextFile(`${dir}/garbage.json`), "{ not json");
    // Pruning again finds nothing more due; an hour and a bit later "recent" is due.
    assert.deepEqual(await store.prune(24 * hour, now), []);
    assert.deepEqual(await store.prune(24 * hour, now + 24 * hour), ["recent"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file pipeline store: prune on a directory not made yet finds nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-pipelines-" });
  try {
    assert.deepEqual(await new FilePipelineStore(`${dir}/missing`).prune(0), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file pipeline store: an unreadable pipeline file is set aside, the others load", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-pipelines-" });
  try {
    const store = new FilePipelineStore(dir);
    await store.save(pipeline("good", { a: { status: "STAGE_RUNNING" } }));
    await Deno.writeTextFile(`${dir}/truncated.json`, '{"definition": {"id": "trunc');
    await Deno.writeTextFile(`${dir}/wrong.json`, "[1, 2, 3]");
    const loaded = await store.loadAll();
    assert.deepEqual(loaded.map((p) => p.definition.id), ["good"]);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.equal(names.length, 3);
    assert.equal(names[0], "good.json");
    assert.match(names[1], /^truncated\.json\.corrupt-\d+$/);
    assert.match(names[2], /^wrong\.json\.corrupt-\d+$/);
    // Set aside, they are not read again.
    assert.equal((await store.loadAll()).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
