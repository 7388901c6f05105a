import assert from "node:assert/strict";
import { FileDeliveryStore } from "./delivery_store.ts";

Deno.test("file delivery store: forget drops a worker's entry from the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-delivery-" });
  const path = `${dir}/delivery.json`;
  try {
    const store = await FileDeliveryStore.open(path);
    store.update("w-1", { logsAcked: 10, eventsAcked: 3, complete: true });
    store.update("w-2", { logsAcked: 5 });
    await store.flush();
    store.forget("w-1");
    assert.deepEqual(store.get("w-1"), { logsAcked: 0, eventsAcked: 0 });
    await store.flush();
    const saved = JSON.parse(await Deno.readTextFile(path));
    assert.deepEqual(Object.keys(saved), ["w-2"]);
    assert.equal(saved["w-2"].logsAcked, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file delivery store: entries of workers no longer known are dropped on open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-delivery-" });
  const path = `${dir}/delivery.json`;
  try {
    // Left by a crash between a worker's removal and the next write of the file.
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        "gone": { logsAcked: 7, eventsAcked: 3, complete: true },
        "here": { logsAcked: 2, eventsAcked: 1 },
      }),
    );
    const store = await FileDeliveryStore.open(path, { known: (id) => id === "here" });
    assert.deepEqual(store.get("here"), { logsAcked: 2, eventsAcked: 1 });
    assert.deepEqual(store.get("gone"), { logsAcked: 0, eventsAcked: 0 });
    assert.deepEqual(Object.keys(JSON.parse(await Deno.readTextFile(path))), ["here"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file delivery store: an unreadable file is set aside, not thrown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-delivery-" });
  const path = `${dir}/delivery.json`;
  try {
    await Deno.writeTextFile(path, '{"w-1": {"logsAcked": 1'); // truncated
    const store = await FileDeliveryStore.open(path);
    assert.deepEqual(store.get("w-1"), { logsAcked: 0, eventsAcked: 0 });
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.equal(names.length, 1);
    assert.match(names[0], /^delivery\.json\.corrupt-\d+$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
