/**
 * The `.proto` files of the wire contract, embedded as text so that a `deno compile`d executable
 * needs no file access to load them.
 *
 * @module
 */

import worker from "../../proto/ottoscaler/v1/worker.proto" with { type: "text" };
import ottoscaler from "../../proto/ottoscaler/v1/ottoscaler.proto" with { type: "text" };
import logForwarding from "../../proto/ottoscaler/v1/log_forwarding.proto" with { type: "text" };
import logStreaming from "../../proto/ottoscaler/v1/log_streaming.proto" with { type: "text" };

/** One embedded `.proto` file: its path below `proto/` (as imports name it) and its text. */
export interface ProtoFile {
  /** The path below `proto/`, for example `ottoscaler/v1/worker.proto`. */
  readonly path: string;
  /** The file's text. */
  readonly text: string;
}

/** Every `.proto` file of package `ottoscaler.v1`, dependencies first. */
export const PROTO_FILES: readonly ProtoFile[] = [
  { path: "ottoscaler/v1/worker.proto", text: worker },
  { path: "ottoscaler/v1/ottoscaler.proto", text: ottoscaler },
  { path: "ottoscaler/v1/log_forwarding.proto", text: logForwarding },
  { path: "ottoscaler/v1/log_streaming.proto", text: logStreaming },
];
