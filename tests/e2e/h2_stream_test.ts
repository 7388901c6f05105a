/**
 * The ForwardWorkerLogs client on node:http2 (mod/grpc/h2_client.ts, h2_stream.ts) against a real
 * grpc-js server on Node.js (tests/support/forward_peer.mjs), over loopback: order and batching
 * of writes, flow control (write returning false, then drain), metadata, the status from trailers
 * and from a trailers-only answer, deadlines, cancellation, and a new session after the server
 * went away. The framing itself is checked without a server.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { H2StreamClient } from "../../mod/grpc/h2_client.ts";
import {
  frameMessages,
  FrameReader,
  type H2DuplexCall,
  H2StatusError,
} from "../../mod/grpc/h2_stream.ts";
import { loadGrpcObjects, loadPackageDefinition } from "../../mod/grpc/proto.ts";

const PEER = new URL("../support/forward_peer.mjs", import.meta.url).pathname;
const method = loadGrpcObjects(loadPackageDefinition()).ottoscaler.v1.OttoHandlerLogService
  .service.ForwardWorkerLogs;

interface Entry {
  readonly worker_id: string;
  readonly sequence: number;
  readonly message: string;
}
interface Answer {
  readonly status: string;
  readonly sequence: string;
}

/** Starts the scripted handler; `port` 0 picks one. */
async function startPeer(port = 0) {
  const child = new Deno.Command("node", {
    args: [PEER, String(port)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  const drained = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) !== -1) {
        lines.push(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        waiters.splice(0).forEach((w) => w());
      }
    }
  })();
  const line = async (prefix: string): Promise<string> => {
    for (;;) {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found) return found.slice(prefix.length);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const bound = Number(await line("PORT "));
  const writer = child.stdin.getWriter();
  const send = (command: string) => writer.write(new TextEncoder().encode(`${command}\n`));
  return {
    address: `127.0.0.1:${bound}`,
    port: bound,
    line,
    send,
    async stop() {
      await writer.write(new TextEncoder().encode("quit\n")).catch(() => {});
      await writer.close().catch(() => {});
      await child.status;
      await drained;
    },
  };
}

function client(address: string, metadata?: Record<string, string>) {
  return new H2StreamClient({
    address,
    tls: false,
    metadata: metadata && (() => Promise.resolve(metadata)),
    keepaliveMs: 0,
  });
}

function open(c: H2StreamClient, scenario: string, deadlineMs?: number) {
  const headers = { "x-scenario": scenario };
  return c.open<Entry, Answer>(
    method.path,
    (entry) => method.requestSerialize(entry),
    (bytes) => method.responseDeserialize(bytes) as Answer,
    { deadlineMs, headers },
  );
}

/** How a call ended: "end" (OK) or its error. */
function outcome(call: H2DuplexCall<Entry, Answer>): Promise<"end" | H2StatusError> {
  return new Promise((resolve) => {
    call.on("end", () => resolve("end"));
    call.on("error", (err: H2StatusError) => resolve(err));
  });
}

/** Writes entries 1..n, waiting for drain when asked to; counts the waits. */
async function writeAll(call: H2DuplexCall<Entry, Answer>, n: number): Promise<number> {
  let waits = 0;
  for (let i = 1; i <= n; i++) {
    const message = `line ${i} ${"x".repeat(200)}`;
    if (!call.write({ worker_id: "w-1", sequence: i, message })) {
      waits++;
      await new Promise<void>((resolve) => call.once("drain", resolve));
    }
  }
  return waits;
}

Deno.test("frames round trip through the reader, split anywhere", () => {
  const messages = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70_000).fill(7)];
  const framed = frameMessages(messages);
  for (const cut of [1, 4, 5, 8, 9, 70_003, framed.length - 1]) {
    const reader = new FrameReader();
    const got = [...reader.push(framed.subarray(0, cut)), ...reader.push(framed.subarray(cut))];
    assert.deepEqual(got.map((b) => [...b]), messages.map((m) => [...m]));
    assert.equal(reader.pending, 0);
  }
  const compressed = Buffer.from(framed);
  compressed[0] = 1;
  assert.throws(() => new FrameReader().push(compressed), /compressed/);
});

Deno.test("h2 stream client against a grpc-js server", async (t) => {
  const peer = await startPeer();
  try {
    await t.step("20,000 entries arrive in order, batched, with flow control", async () => {
      const c = client(peer.address);
      const call = open(c, "ack");
      let acked = 0;
      call.on("data", (a: Answer) => (acked = Number(a.sequence)));
      const ended = outcome(call);
      await writeAll(call, 20_000);
      call.end();
      assert.equal(await ended, "end");
      // The peer fails the call on any entry out of order, so an OK end means none was.
      assert.equal(acked, 20_000);
      assert.ok(call.batches < 20_000, `${call.batches} HTTP/2 writes for 20,000 entries`);
      c.close();
    });

    await t.step(
      "a server that does not read makes write return false; drain follows",
      async () => {
        const c = client(peer.address);
        const call = open(c, "pause");
        let acked = 0;
        call.on("data", (a: Answer) => (acked = Number(a.sequence)));
        const ended = outcome(call);
        // 3,000 entries of about 220 bytes are far beyond the HTTP/2 window and the client's mark.
        const waits = await writeAll(call, 3_000);
        assert.ok(waits > 0, "write never returned false");
        call.end();
        assert.equal(await ended, "end");
        assert.equal(acked, 3_000);
        c.close();
      },
    );

    await t.step("metadata is sent with the call", async () => {
      const good = client(peer.address, { authorization: "Bearer s3cret" });
      const call = open(good, "auth");
      const ended = outcome(call);
      await writeAll(call, 5);
      call.end();
      assert.equal(await ended, "end");
      good.close();
      const bad = client(peer.address, { authorization: "Bearer nope" });
      const refused = await outcome(open(bad, "auth"));
      assert.ok(refused instanceof H2StatusError);
      assert.equal(refused.code, 16); // UNAUTHENTICATED
      assert.equal(refused.details, "bad token");
      bad.close();
    });

    await t.step("a status in the trailers ends the call with that code and message", async () => {
      const c = client(peer.address);
      const call = open(c, "fail");
      const ended = outcome(call);
      await writeAll(call, 3);
      const err = await ended;
      assert.ok(err instanceof H2StatusError);
      assert.equal(err.code, 8); // RESOURCE_EXHAUSTED
      assert.equal(err.details, "handler full: 100% ✓ (é)");
      assert.equal(err.message, "8 RESOURCE_EXHAUSTED: handler full: 100% ✓ (é)");
      // Writes after the end are refused, not queued.
      assert.equal(call.write({ worker_id: "w-1", sequence: 4, message: "late" }), false);
      c.close();
    });

    await t.step("a trailers-only answer ends the call", async () => {
      const c = client(peer.address);
      const err = await outcome(open(c, "reject"));
      assert.ok(err instanceof H2StatusError);
      assert.equal(err.code, 7); // PERMISSION_DENIED
      assert.equal(err.details, "not you");
      c.close();
    });

    await t.step("a deadline ends a call that gets no answer", async () => {
      const c = client(peer.address);
      const call = open(c, "hang", 200);
      await writeAll(call, 2);
      const err = await outcome(call);
      assert.ok(err instanceof H2StatusError);
      assert.equal(err.code, 4); // DEADLINE_EXCEEDED
      c.close();
    });

    await t.step("cancel resets the stream and reports nothing more", async () => {
      const c = client(peer.address);
      const call = open(c, "hang");
      let events = 0;
      call.on("error", () => events++);
      call.on("end", () => events++);
      await writeAll(call, 2);
      call.cancel();
      // Only this call was cancelled: the calls before ended with OK or their status.
      assert.equal(await peer.line("CANCELLED "), "hang");
      assert.equal(events, 0);
      c.close();
    });
  } finally {
    await peer.stop();
  }
});

Deno.test("h2 stream client: a handler that drops its connections mid-call", async () => {
  const peer = await startPeer();
  const c = client(peer.address);
  try {
    const call = open(c, "ack");
    const ten = Promise.withResolvers<void>();
    call.on("data", (a: Answer) => Number(a.sequence) === 10 && ten.resolve());
    const ended = outcome(call);
    await writeAll(call, 10);
    await ten.promise;
    await peer.send("shutdown");
    const err = await ended;
    assert.ok(err instanceof H2StatusError, `ended with ${err}`);
    // grpc-js's forceShutdown resets each stream with CANCEL, then drops the connection: as
    // grpc-js's client, CANCELLED for the reset, UNAVAILABLE had the connection gone first.
    assert.ok([1, 14].includes(err.code), err.message);

    await peer.send(`listen ${peer.port}`);
    await peer.line("LISTENING ");
    const again = open(c, "ack");
    let count = 0;
    again.on("data", (a: Answer) => (count = Number(a.sequence)));
    const done = outcome(again);
    await writeAll(again, 50);
    again.end();
    assert.equal(await done, "end");
    assert.equal(count, 50);
  } finally {
    c.close();
    await peer.stop();
  }
});

Deno.test("h2 stream client: no server, then a new one on the same port", async () => {
  const first = await startPeer();
  const { port, address } = first;
  const c = client(address);
  const call = open(c, "ack");
  const ended = outcome(call);
  await writeAll(call, 10);
  call.end();
  assert.equal(await ended, "end");
  await first.stop();

  const refused = await outcome(open(c, "ack"));
  assert.ok(refused instanceof H2StatusError);
  assert.equal(refused.code, 14); // UNAVAILABLE

  const second = await startPeer(port);
  try {
    const again = open(c, "ack");
    let acked = 0;
    again.on("data", (a: Answer) => (acked = Number(a.sequence)));
    const done = outcome(again);
    await writeAll(again, 100);
    again.end();
    assert.equal(await done, "end");
    assert.equal(acked, 100);
  } finally {
    c.close();
    await second.stop();
  }
});
