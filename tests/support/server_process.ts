/**
 * Starts `main.ts serve` as a real child process for end-to-end tests, on a free port and a
 * fresh state directory, and stops it with SIGTERM.
 *
 * @module
 */

/** A running Ottoscaler process. */
export interface ServerProcess {
  /** host:port to dial. */
  readonly address: string;
  /** http://host:port of the HTTP server (/metrics, /healthz, /readyz). */
  readonly httpUrl: string;
  /** The state directory it uses. */
  readonly stateDir: string;
  /** The process id of the `deno run` process. */
  readonly pid: number;
  /** Everything it logged so far. */
  logs(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number>;
  /** Kills it outright (SIGKILL: no shutdown at all) and resolves once it is gone. */
  kill(): Promise<void>;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/**
 * Starts the server; resolves once it logs that it listens (so LOG_LEVEL must be info or debug).
 * Reuses `stateDir` when given; `args` follow the defaults (a later flag wins); `denoArgs` go to
 * `deno run` (e.g. `--cpu-prof` for profiling).
 */
export async function startServerProcess(
  options: {
    stateDir?: string;
    env?: Record<string, string>;
    args?: string[];
    denoArgs?: readonly string[];
  } = {},
): Promise<ServerProcess> {
  const stateDir = options.stateDir ?? await Deno.makeTempDir({ prefix: "ottoscaler-e2e-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...(options.denoArgs ?? []),
      MAIN,
      "serve",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      ...(options.args ?? []),
    ],
    env: {
      STATE_DIR: stateDir,
      STOP_GRACE_SECONDS: "2",
      LOG_LEVEL: "debug",
      HTTP_PORT: String(freePort()),
      // A restarted single instance would wait out its killed predecessor's lease; the tests of
      // leader election turn it on.
      LEADER_ELECTION: "false",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let logText = "";
  const decoder = new TextDecoder();
  const port = Promise.withResolvers<number>();
  let httpPort = 0;
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      logText += decoder.decode(chunk, { stream: true });
      const http = logText.match(/"msg":"HTTP server listening".*?"port":(\d+)/);
      if (http) httpPort = Number(http[1]);
      // The HTTP server starts after the gRPC one: ready once both listen (or HTTP is off).
      const match = logText.match(/"msg":"gRPC server listening".*?"port":(\d+)/);
      if (match && (httpPort || options.env?.HTTP_PORT === "0")) port.resolve(Number(match[1]));
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  child.status.then((s) => port.reject(new Error(`server exited with ${s.code}:\n${logText}`)));
  const bound = await port.promise;
  return {
    address: `127.0.0.1:${bound}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    stateDir,
    pid: child.pid,
    logs: () => logText,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await child.status;
      await drained;
      return status.code;
    },
    kill: async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await drained;
    },
  };
}

/**
 * A port that was free a moment ago (the OS's pick for port 0). Another process may take it
 * before the server binds; in the tests' own sandbox that does not happen in practice.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
