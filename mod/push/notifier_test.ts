import assert from "node:assert/strict";
import type { DeliveryState, DeliveryStore } from "./delivery_store.ts";
import { Pulse } from "../async/pulse.ts";
import type { WorkerStatus } from "../worker/types.ts";
import { notifyWorkerEvents } from "./notifier.ts";
import type { EventType } from "../events/transitions.ts";

class MemoryStore implements DeliveryStore {
  state: DeliveryState = { logsAcked: 0, eventsAcked: 0 };
  get(): DeliveryState {
    return this.state;
  }
  update(_id: string, patch: Partial<DeliveryState>): void {
    this.state = {
      logsAcked: Math.max(this.state.logsAcked, patch.logsAcked ?? 0),
      eventsAcked: Math.max(this.state.eventsAcked, patch.eventsAcked ?? 0),
    };
  }
  forget(): void {
    this.state = { logsAcked: 0, eventsAcked: 0 };
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
}

const worker: WorkerStatus = {
  id: "otto-agent-n-1",
  taskId: "n",
  index: 1,
  phase: "succeeded",
  createdAt: "2026-01-01T00:00:00.000Z",
  finishedAt: "2026-01-01T00:00:03.000Z",
  labels: {},
};

Deno.test("status notifier: an acknowledged status is never sent again", async () => {
  // The worker's state is swapped between the two runs.
  let current = worker;
  const store = new MemoryStore();
  const sent: EventType[] = [];
  const options = {
    status: () => current,
    store,
    changed: new Pulse(),
    notify: (event: { type: EventType }) => {
      sent.push(event.type);
      return Promise.resolve({ status: "RECEIVED" as const, message: "" });
    },
  };
  // First seen ended with no start time (as a pod may be reported), then with one.
  await notifyWorkerEvents(worker.id, options, new AbortController().signal);
  assert.deepEqual(sent, ["CREATED", "COMPLETED"]);
  current = { ...worker, startedAt: "2026-01-01T00:00:01.000Z" };
  await notifyWorkerEvents(worker.id, options, new AbortController().signal);
  assert.deepEqual(sent, ["CREATED", "COMPLETED"], "nothing resent, nothing out of order");
  assert.equal(store.state.eventsAcked, 3);
});
