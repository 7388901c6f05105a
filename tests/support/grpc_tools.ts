/**
 * grpcurl and grpc-health-probe for the end-to-end tests: built once from the Go module proxy by
 * tasks/grpc_tools/build.sh into the version-keyed cache outside the repository, reused after.
 *
 * @module
 */

/** Paths of the built tools. */
export interface GrpcTools {
  /** The grpcurl executable. */
  readonly grpcurl: string;
  /** The grpc-health-probe executable. */
  readonly healthProbe: string;
}

/** What a tool printed and how it exited. */
export interface ToolRun {
  /** The exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

const BUILD = new URL("../../tasks/grpc_tools/build.sh", import.meta.url).pathname;

/** Builds the tools (or finds them cached); throws with the build's output if it cannot. */
export async function grpcTools(): Promise<GrpcTools> {
  const out = await runTool("bash", [BUILD]);
  const dir = out.stdout.trim().split("\n").at(-1) ?? "";
  if (out.code !== 0 || !dir) {
    throw new Error(
      `tasks/grpc_tools/build.sh failed (exit ${out.code}); it needs Go and the Go module proxy:\n` +
        out.stderr,
    );
  }
  return { grpcurl: `${dir}/grpcurl`, healthProbe: `${dir}/grpc-health-probe` };
}

/** Runs a command to its end, collecting its output. */
export async function runTool(cmd: string, args: string[]): Promise<ToolRun> {
  const res = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  return { code: res.code, stdout: text.decode(res.stdout), stderr: text.decode(res.stderr) };
}
