import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { silentLogger } from "../telemetry/logger.ts";
import { waitForEnd } from "../../tests/support/conformance.ts";
import { LocalRuntime } from "../worker/local/runtime.ts";
import type { WorkerSpec } from "../worker/types.ts";
import type { DeliveryState, DeliveryStore } from "./delivery_store.ts";
import { type ForwardCall, forwardWorkerLogs, type WireForwardResponse } from "./forwarder.ts";

/** An in-memory store. */
class MemoryStore implements DeliveryStore {
  readonly states = new Map<string, DeliveryState>();
  get(id: string): DeliveryState {
    return this.states.get(id) ?? { logsAcked: 0, eventsAcked: 0 };
  }
  update(id: string, patch: Partial<DeliveryState>): void {
    const s = this.get(id);
    this.states.set(id, {
      logsAcked: Math.max(s.logsAcked, patch.logsAcked ?? 0),
      eventsAcked: Math.max(s.eventsAcked, patch.eventsAcked ?? 0),
    });
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A hand-written stand-in for the duplex call: records what was written and lets a script
 * answer. (The real call is exercised by the Node.js handler tests.)
 */
class FakeCall extends EventEmitter {
  readonly written: number[] = [];
  ended = false;
  cancelled = false;
  maxInFlight = 0;
  acked = 0;
  constructor(readonly onWrite: (call: FakeCall, sequence: number) => void) {
    super();
  }
  write(entry: { sequence: number }): boolean {
    this.written.push(entry.sequence);
    this.maxInFlight = Math.max(this.maxInFlight, entry.sequence - this.acked);
    queueMicrotask(() => this.onWrite(this, entry.sequence));
    return true;
  }
  answer(status: string, sequence: number): void {
    if (status !== "RETRY") this.acked = Math.max(this.acked, sequence);
    const res: WireForwardResponse = { status, sequence: String(sequence), throttle_ms: 0 };
    this.emit("data", res);
  }
  end(): void {
    this.ended = true;
  }
  cancel(): void {
    this.cancelled = true;
  }
}

Deno.test("forwarder", async (t) => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-forwarder-" });
  const runtime = await LocalRuntime.open({ stateDir, logger: silentLogger });
  const spec: WorkerSpec = {
    id: "otto-agent-fwd-1",
    taskId: "fwd",
    index: 1,
    image: "",
    command: "seq 1 100",
    env: {},
    labels: {},
    timeoutSeconds: 0,
  };
  await runtime.start(spec);
  await waitForEnd(runtime, spec.id);
  const forward = (store: DeliveryStore, call: FakeCall, window = 10) =>
    forwardWorkerLogs(spec.id, {
      runtime,
      store,
      open: () => call as unknown as ForwardCall,
      toWire: (line) => ({ sequence: line.sequence }),
      window,
      ackTimeoutMs: 5_000,
    }, new AbortController().signal);

  try {
    await t.step(
      "never more than the window in flight; ends once all is acknowledged",
      async () => {
        const store = new MemoryStore();
        // The handler acknowledges every fifth line, and the last one.
        const call = new FakeCall((c, s) => (s % 5 === 0 || s === 100) && c.answer("ACK", s));
        await forward(store, call);
        assert.deepEqual(call.written, Array.from({ length: 100 }, (_, i) => i + 1));
        assert.ok(call.maxInFlight <= 10, `in flight at most the window (${call.maxInFlight})`);
        assert.equal(store.get(spec.id).logsAcked, 100);
        assert.ok(call.ended);
      },
    );

    await t.step("RETRY resends from its sequence; DROP counts as done", async () => {
      const store = new MemoryStore();
      let retried = false;
      const call = new FakeCall((c, s) => {
        if (s === 40 && !retried) {
          retried = true;
          c.answer("RETRY", 35);
        } else c.answer(s === 50 ? "DROP" : "ACK", s);
      });
      await forward(store, call);
      const resent = call.written.slice(call.written.indexOf(40) + 1);
      assert.equal(resent[0], 35, "sending restarted at 35");
      assert.equal(call.written.filter((s) => s === 50).length, 1, "a dropped line is not resent");
      assert.equal(store.get(spec.id).logsAcked, 100);
    });

    await t.step("resumes after what the store says was acknowledged", async () => {
      const store = new MemoryStore();
      store.update(spec.id, { logsAcked: 90 });
      const call = new FakeCall((c, s) => c.answer("ACK", s));
      await forward(store, call);
      assert.deepEqual(call.written, [91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
    });

    await t.step("an acknowledgement beyond what was sent does not skip lines", async () => {
      const store = new MemoryStore();
      const call = new FakeCall((c, s) => c.answer("ACK", s === 1 ? 1000 : s));
      await forward(store, call);
      assert.equal(call.written.length, 100);
      // Recording 1000 would make a restarted Ottoscaler skip lines it never sent.
      assert.equal(store.get(spec.id).logsAcked, 100);
    });

    await t.step("sequence 0 refers to the oldest entry not yet acknowledged", async () => {
      const store = new MemoryStore();
      // One ACK 0 per entry, as a handler on otto-handler's proto answers.
      const call = new FakeCall((c) => c.answer("ACK", 0));
      await forward(store, call);
      assert.deepEqual(call.written, Array.from({ length: 100 }, (_, i) => i + 1), "each once");
      assert.equal(store.get(spec.id).logsAcked, 100);
      assert.ok(call.ended, "delivery completed");
    });

    await t.step(
      "RETRY 0 resends from the oldest unacknowledged entry; DROP 0 skips it",
      async () => {
        const store = new MemoryStore();
        let retried = false;
        let answered = 0;
        const call = new FakeCall((c, s) => {
          answered++;
          if (s === 30 && !retried) {
            retried = true;
            c.answer("RETRY", 0);
          } else c.answer(answered === 60 ? "DROP" : "ACK", 0);
        });
        await forward(store, call);
        const resent = call.written.slice(call.written.indexOf(30) + 1);
        assert.equal(resent[0], 30, "sending restarted at the unacknowledged entry 30");
        assert.equal(call.written.filter((s) => s === 29).length, 1, "acknowledged 29 not resent");
        assert.equal(store.get(spec.id).logsAcked, 100);
      },
    );
  } finally {
    await runtime.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
