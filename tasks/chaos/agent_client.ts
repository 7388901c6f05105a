/**
 * A minimal LogStreamingService agent for the chaos scenarios: one StreamLogs call on which lines
 * are sent one at a time, each awaited for its answer (answers come in order).
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { loadGrpcObjects, loadPackageDefinition } from "../../mod/grpc/proto.ts";
import type { LogEntry } from "../../proto/generated/ottoscaler/v1/LogEntry.ts";
import type { LogResponse__Output } from "../../proto/generated/ottoscaler/v1/LogResponse.ts";
import type { LogStreamingServiceClient } from "../../proto/generated/ottoscaler/v1/LogStreamingService.ts";

/** An agent's stream: `send` resolves with the line's answer; `close` ends the call. */
export function agentClient(address: string): {
  send(entry: LogEntry): Promise<LogResponse__Output>;
  close(): void;
} {
  const proto = loadGrpcObjects(loadPackageDefinition());
  const client = new proto.ottoscaler.v1.LogStreamingService(
    address,
    grpc.credentials.createInsecure(),
  ) as unknown as LogStreamingServiceClient;
  const call = client.StreamLogs();
  const waiting: ((res: LogResponse__Output) => void)[] = [];
  const failed: ((err: Error) => void)[] = [];
  let broken: Error | undefined;
  call.on("data", (res: LogResponse__Output) => {
    waiting.shift()?.(res);
    failed.shift();
  });
  call.on("error", (err: Error) => {
    broken = err;
    for (const reject of failed.splice(0)) reject(err);
    waiting.length = 0;
  });
  return {
    send(entry) {
      return new Promise((resolve, reject) => {
        if (broken) return reject(broken);
        waiting.push(resolve);
        failed.push(reject);
        call.write(entry);
      });
    },
    close() {
      call.end();
      client.close();
    },
  };
}
