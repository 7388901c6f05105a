import assert from "node:assert/strict";
import { LineSplitter } from "./line_splitter.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("line splitter", async (t) => {
  await t.step("cuts lines and records where each ended", () => {
    const s = new LineSplitter(1024);
    assert.deepEqual(s.push(bytes("a\nbc\n")), [{ text: "a", end: 2 }, { text: "bc", end: 5 }]);
    assert.equal(s.offset, 5);
  });

  await t.step("keeps a partial line until its newline, across chunks", () => {
    const s = new LineSplitter(1024, 100);
    assert.deepEqual(s.push(bytes("hel")), []);
    assert.equal(s.offset, 100);
    assert.deepEqual(s.push(bytes("lo\nwor")), [{ text: "hello", end: 106 }]);
    assert.deepEqual(s.flush(), { text: "wor", end: 109 });
    assert.equal(s.flush(), undefined);
  });

  await t.step("keeps empty lines and drops a trailing carriage return", () => {
    const s = new LineSplitter(1024);
    assert.deepEqual(s.push(bytes("\r\n\nx\r\n")).map((l) => l.text), ["", "", "x"]);
  });

  await t.step("splits long lines into pieces, never dropping a byte", () => {
    const s = new LineSplitter(4);
    const lines = s.push(bytes("abcdefghij\nk\n"));
    assert.deepEqual(lines.map((l) => l.text), ["abcd", "efgh", "ij", "k"]);
    assert.deepEqual(lines.map((l) => l.end), [4, 8, 11, 13]);
  });

  await t.step("splits a long line without a newline as it grows", () => {
    const s = new LineSplitter(4);
    assert.deepEqual(s.push(bytes("abcdef")).map((l) => l.text), ["abcd"]);
    // Exactly the limit is held back: a newline may still come and end it as a whole line.
    assert.deepEqual(s.push(bytes("gh")).map((l) => l.text), []);
    assert.deepEqual(s.push(bytes("i\n")).map((l) => l.text), ["efgh", "i"]);
    assert.deepEqual(s.flush(), undefined);
  });

  await t.step("never cuts inside a UTF-8 character", () => {
    const s = new LineSplitter(5);
    // "é" is two bytes and "€" three: a cut at byte 5 would fall inside the "€".
    const lines = s.push(bytes("aaé€bb\n"));
    assert.deepEqual(lines.map((l) => l.text), ["aaé", "€bb"]);
    assert.ok(lines.every((l) => !l.text.includes("\ufffd")));
  });

  await t.step("makes invalid UTF-8 valid", () => {
    const s = new LineSplitter(1024);
    const lines = s.push(new Uint8Array([0x61, 0xff, 0xfe, 0x62, 0x0a]));
    assert.equal(lines[0].text, "a\ufffd\ufffdb");
    assert.equal(lines[0].end, 5);
  });
});
