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
import health from "../../proto/grpc/health/v1/health.proto" with { type: "text" };
import reflectionV1 from "../../proto/grpc/reflection/v1/reflection.proto" with { type: "text" };
import reflectionV1alpha from "../../proto/grpc/reflection/v1alpha/reflection.proto" with {
  type: "text",
};

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

/**
 * The `.proto` files of the standard services the server also serves, for server reflection:
 * copies of the files grpc-health-check and @grpc/reflection (pinned in deno.json) serve them with
 * (tests/e2e/reflection_test.ts checks they are the same), under their upstream paths.
 */
export const SERVICE_PROTO_FILES: readonly ProtoFile[] = [
  { path: "grpc/health/v1/health.proto", text: health },
  { path: "grpc/reflection/v1/reflection.proto", text: reflectionV1 },
  { path: "grpc/reflection/v1alpha/reflection.proto", text: reflectionV1alpha },
];
