import assert from "node:assert/strict";
import { LogFileWriter, offsetAfter, readLogFile } from "./log_file.ts";
import type { LogLine } from "../types.ts";

/** Writes `count` stdout lines, some of them long, in batches; returns the log's path. */
async function writeLog(dir: string, count: number): Promise<string> {
  const path = `${dir}/log.jsonl`;
  const { writer } = await LogFileWriter.open(path);
  for (let seq = 1; seq <= count;) {
    const batch = [];
    for (let i = 0; i < 500 && seq <= count; i++, seq++) {
      const text = seq % 97 === 0 ? `long ${seq} ` + "x".repeat(70_000) : `line ${seq}`;
      batch.push({ text, timestamp: "2026-11-30T10:00:00.000Z", end: seq * 10 });
    }
    await writer.append("stdout", batch);
  }
  writer.close();
  return path;
}

async function read(path: string, after: number): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of readLogFile(path, "w", { after })) out.push(line);
  return out;
}

Deno.test("numbered log: resuming deep into a big log", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const count = 20_000;
    const path = await writeLog(dir, count);
    const size = (await Deno.stat(path)).size;

    await t.step("every `after` resumes at exactly the next line", async () => {
      for (const after of [0, 1, 96, 97, 98, 5_000, 12_345, 19_999, count, count + 5]) {
        const lines = await read(path, after);
        assert.equal(lines.length, Math.max(0, count - after), `after ${after}`);
        if (lines.length > 0) {
          assert.equal(lines[0].sequence, after + 1);
          assert.equal(lines.at(-1)!.sequence, count);
          assert.ok(lines.every((l, i) => l.sequence === after + 1 + i), "no gaps");
        }
      }
    });

    await t.step("the index skips what comes before: it starts near the line", async () => {
      for (const after of [5_000, 12_345, 19_999]) {
        const offset = await offsetAfter(path, after);
        assert.ok(offset > 0 && offset <= size);
        // At or before the line after `after`, and within one scan window (plus a line) of it.
        const text = new TextDecoder().decode((await Deno.readFile(path)).subarray(offset));
        const first = JSON.parse(text.slice(0, text.indexOf("\n"))).s as number;
        assert.ok(first <= after + 1, `starts at ${first}, not past ${after + 1}`);
        const skipped = text.indexOf(`{"s":${after + 1},`);
        assert.ok(skipped >= 0 && skipped < 64 * 1024 + 80_000, `then scans ${skipped} bytes`);
      }
    });

    await t.step(
      "a partial last line (a crash mid-write) is neither read nor a problem",
      async () => {
        await Deno.writeTextFile(path, '{"s":20001,"t":"2026-11-30T10:0', { append: true });
        assert.equal((await read(path, 19_990)).length, 10);
        assert.ok(await offsetAfter(path, 19_990) > 0);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("numbered log: entries in another key order are still read, from the start", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/log.jsonl`;
    const entries = Array.from(
      { length: 5_000 },
      (_, i) =>
        JSON.stringify({ t: "2026-11-30T10:00:00.000Z", o: "stdout", m: "z".repeat(40), s: i + 1 }),
    );
    await Deno.writeTextFile(path, entries.join("\n") + "\n");
    assert.equal(await offsetAfter(path, 4_000), 0, "no usable prefix: no shortcut");
    const lines = await read(path, 4_000);
    assert.deepEqual(
      lines.map((l) => l.sequence),
      Array.from({ length: 1_000 }, (_, i) => 4_001 + i),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("numbered log: an agent's resends are stored once, also after a reopen", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/log.jsonl`;
    const t = "2026-11-30T10:00:00.000Z";
    const agent = (n: number) => ({ text: `a ${n}`, timestamp: t, agentSequence: n });
    const first = await LogFileWriter.open(path);
    assert.equal(first.state.lastAgentSequence, 0);
    assert.equal(await first.writer.append("agent", [agent(1), agent(2)]), 2);
    assert.equal(await first.writer.append("stdout", [{ text: "out", timestamp: t, end: 4 }]), 3);
    // 2 again (a resend after a lost connection) with 3: only 3 is stored.
    assert.equal(await first.writer.append("agent", [agent(2), agent(3)]), 4);
    assert.equal(await first.writer.append("agent", [agent(3)]), 0, "all resends: 0");
    first.writer.close();

    const again = await LogFileWriter.open(path);
    assert.equal(again.state.lastAgentSequence, 3);
    assert.equal(again.writer.lastAgentSequence, 3);
    assert.equal(await again.writer.append("agent", [agent(1), agent(3)]), 0);
    assert.equal(await again.writer.append("agent", [agent(4)]), 5);
    again.writer.close();
    const lines = await read(path, 0);
    assert.deepEqual(lines.map((l) => `${l.sequence} ${l.message}`), [
      "1 a 1",
      "2 a 2",
      "3 out",
      "4 a 3",
      "5 a 4",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
