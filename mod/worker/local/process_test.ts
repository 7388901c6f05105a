import assert from "node:assert/strict";
import { processStartTime, signalGroup, spawnWrapped } from "./process.ts";

/** Fields 5 and 6 of `/proc/<pid>/stat`: the process group and the session. */
function groupAndSession(pid: number): [string, string] {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [fields[2], fields[3]];
}

/** Polls until `check` holds (the wrapper writes its files by itself); no time limit of its own. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

Deno.test("the wrapper leads its own session, and records its pid and the exit code with no temporary files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-wrapper-" });
  try {
    const fifo = `${dir}/go`;
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const child = spawnWrapped({
      stateDir: dir,
      cwd: dir,
      // Blocks until the test writes to the FIFO, then exits 7.
      argv: ["/bin/sh", "-c", `read line < ${fifo}; echo "got $line"; exit 7`],
      env: { PATH: "/usr/bin:/bin" },
    });
    await until(() => exists(`${dir}/pid`));
    assert.equal(Number(await Deno.readTextFile(`${dir}/pid`)), child.pid);
    // A session and a process group of its own, so stopping its group reaches nothing else
    // and a Ctrl-C at Ottoscaler's terminal does not reach it.
    assert.deepEqual(groupAndSession(child.pid), [String(child.pid), String(child.pid)]);
    assert.notEqual(groupAndSession(Deno.pid)[0], String(child.pid));
    assert.ok(processStartTime(child.pid) !== undefined);

    await Deno.writeTextFile(fifo, "go\n");
    assert.equal((await child.status).code, 0, "the wrapper itself ends well");
    assert.equal(await Deno.readTextFile(`${dir}/exit`), "7\n");
    assert.equal(await Deno.readTextFile(`${dir}/stdout.raw`), "got go\n");
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names.sort(), ["exit", "go", "pid", "stderr.raw", "stdout.raw"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the wrapper outlives a group-wide SIGTERM long enough to record the code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-wrapper-" });
  try {
    const child = spawnWrapped({
      stateDir: dir,
      cwd: dir,
      argv: ["/bin/sh", "-c", "echo up; exec sleep 600"],
      env: { PATH: "/usr/bin:/bin" },
    });
    await until(() =>
      exists(`${dir}/stdout.raw`) && Deno.readTextFileSync(`${dir}/stdout.raw`) !== ""
    );
    assert.ok(signalGroup(child.pid, "SIGTERM"));
    await child.status;
    assert.equal(await Deno.readTextFile(`${dir}/exit`), "143\n", "sleep ended by SIGTERM");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
