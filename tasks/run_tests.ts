/**
 * `deno task test`: every check and every test, in one command that works on a fresh machine.
 *
 * 1. `deno fmt --check`, `deno lint`, `deno check` (strict TypeScript, lockfile frozen);
 * 2. the generated proto types are not stale (`deno task proto --check`);
 * 3. a local Kubernetes control plane for the tests (tasks/control_plane/up.sh: kube-apiserver,
 *    etcd, kube-scheduler, KWOK nodes) in its own state dir `.dev/test-run`; the first run on a
 *    machine builds and caches the binaries (minutes); it is stopped at the end;
 * 4. grpcurl and grpc-health-probe for the reflection test (tasks/grpc_tools/build.sh: built from
 *    the Go module proxy on the first run on a machine, a few minutes, then cached);
 * 5. `npm ci` installs the pinned Node.js packages of tests/interop (the interop tests' and the
 *    chaos suite's otto-handler and agents, grpc-js on Node.js, which some Deno tests start);
 * 6. `deno test` (unit, runtime conformance on both runtimes, end to end over gRPC);
 * 7. the Node.js interop tests under tests/interop (grpc-js as otto-handler uses it).
 *
 * If the control plane cannot start, the tests that need it fail and say why; none is skipped.
 *
 * Every step runs even if an earlier one fails; the last line sums up the tests that ran as
 * `tests: N passed, N failed`, and the exit code is non-zero if anything failed.
 *
 * @module
 */

const deno = Deno.execPath();
const root = new URL("..", import.meta.url).pathname;
const interop = `${root}tests/interop`;
const testDevDir = `${root}.dev/test-run`;
/** Every child's environment: no colours, and the tests' own control plane. */
const childEnv = { NO_COLOR: "1", OTTOSCALER_DEV_DIR: testDevDir };

interface StepResult {
  readonly name: string;
  readonly ok: boolean;
  readonly passed: number;
  readonly failed: number;
}

/** Runs a command, echoing its output, and returns its success and its output text. */
async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ ok: boolean; text: string }> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? root,
    env: { ...childEnv, ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      await sink.write(chunk);
    }
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  return { ok: status.success, text };
}

function banner(title: string) {
  console.log(`\n=== ${title} ===`);
}

async function check(name: string, cmd: string, args: string[]): Promise<StepResult> {
  banner(name);
  const { ok } = await run(cmd, args);
  return { name, ok, passed: 0, failed: ok ? 0 : 1 };
}

async function denoTests(): Promise<StepResult> {
  banner("deno test");
  const { ok, text } = await run(deno, ["test", "--allow-all", "--frozen"]);
  // Deno closes with e.g. "ok | 12 passed (40 steps) | 1 failed (2 steps)"; steps count too.
  const last = [
    ...text.matchAll(/(\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/g),
  ].at(-1);
  const passed = Number(last?.[1] ?? 0) + Number(last?.[2] ?? 0);
  const failed = Number(last?.[3] ?? 0) + Number(last?.[4] ?? 0);
  return { name: "deno test", ok, passed, failed: ok ? failed : Math.max(1, failed) };
}

/** Installs the Node.js packages that the interop tests and the chaos suite's Node.js peers use. */
async function nodePackages(): Promise<StepResult> {
  const name = "npm ci (tests/interop)";
  banner(name);
  const { ok } = await run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: interop,
  });
  return { name, ok, passed: 0, failed: ok ? 0 : 1 };
}

async function nodeTests(): Promise<StepResult> {
  banner("node --test (tests/interop)");
  const { ok, text } = await run("node", ["--test", "--test-reporter=spec"], {
    cwd: interop,
    env: { DENO_BIN: deno },
  });
  const passed = Number(text.match(/^\S*\s*pass (\d+)/m)?.[1] ?? 0);
  const failed = Number(text.match(/^\S*\s*fail (\d+)/m)?.[1] ?? 0);
  return { name: "node interop", ok, passed, failed: ok ? failed : Math.max(1, failed) };
}

const controlPlane = `${root}tasks/control_plane`;
const results: StepResult[] = [
  await check("deno fmt --check", deno, ["fmt", "--check"]),
  await check("deno lint", deno, ["lint"]),
  // --frozen: a lockfile that would change fails the run instead of being rewritten.
  await check("deno check", deno, ["check", "--frozen", "main.ts", "mod/", "tasks/", "tests/"]),
  await check("proto types up to date", deno, ["run", "--allow-all", "tasks/proto.ts", "--check"]),
  await check("local control plane (build once, then start)", "bash", [`${controlPlane}/up.sh`]),
  // tests/e2e/reflection_test.ts builds them too if this failed, and fails saying why.
  await check("grpcurl and grpc-health-probe (build once)", "bash", [
    `${root}tasks/grpc_tools/build.sh`,
  ]),
  // Before the Deno tests: the chaos suite's otto-handler and agents are grpc-js on Node.js.
  await nodePackages(),
  await denoTests(),
  await nodeTests(),
];
banner("stopping the local control plane");
await run("bash", [`${controlPlane}/down.sh`]);

banner("summary");
for (const r of results) {
  const counts = r.passed || r.failed ? ` (${r.passed} passed, ${r.failed} failed)` : "";
  console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name}${counts}`);
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`tests: ${passed} passed, ${failed} failed`);
Deno.exit(results.every((r) => r.ok) ? 0 : 1);
