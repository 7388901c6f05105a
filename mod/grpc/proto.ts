/**
 * Loads the wire contract: parses the embedded `.proto` files (keeping their file names, which
 * server reflection needs) into a package definition for @grpc/grpc-js.
 *
 * Field names keep the proto's snake_case on the server side; clients that use camelCase (as
 * otto-handler's generated client does) are unaffected, since only field numbers cross the wire.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import type { ProtoGrpcType as OttoscalerProto } from "../../proto/generated/ottoscaler.ts";
import type { ProtoGrpcType as LogForwardingProto } from "../../proto/generated/log_forwarding.ts";
import type { ProtoGrpcType as LogStreamingProto } from "../../proto/generated/log_streaming.ts";
import { PROTO_FILES } from "./proto_files.ts";
import { tolerantDecoding } from "./decode.ts";

/** The proto-loader options the server and the generated types agree on. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The typed gRPC objects of package `ottoscaler.v1`. */
export type OttoscalerGrpc = OttoscalerProto & LogForwardingProto & LogStreamingProto;

/** protobufjs's Root with the method its descriptor extension (loaded by proto-loader) adds. */
interface DescriptorRoot {
  toDescriptor(syntax: "proto3"): Parameters<typeof protoLoader.loadFileDescriptorSetFromObject>[0];
}

function parseRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const file of PROTO_FILES) {
    // protobufjs records the file each type came from through this static; parse resets it.
    (protobuf.parse as unknown as { filename: string | null }).filename = file.path;
    protobuf.parse(file.text, root, { keepCase: true, alternateCommentMode: true });
  }
  root.resolveAll();
  return root;
}

/** Parses the embedded `.proto` files into the package definition that serves and calls. */
export function loadPackageDefinition(): protoLoader.PackageDefinition {
  // Through JSON, not descriptors: protobufjs turns a descriptor's map entries back into
  // repeated messages, not maps, which breaks every map<> field.
  const definition = protoLoader.fromJSON(parseRoot().toJSON(), LOADER_OPTIONS);
  // Bad bytes are INVALID_ARGUMENT, and PipelineStage.type is read by its wire type (decode.ts).
  tolerantDecoding(definition, "ottoscaler.v1.OttoscalerService");
  return definition;
}

/**
 * The package definition for server reflection: built from file descriptors, so reflection
 * clients (grpcurl) see the real file names and imports.
 */
export function loadReflectionDefinition(): protoLoader.PackageDefinition {
  const descriptorSet = (parseRoot() as unknown as DescriptorRoot).toDescriptor("proto3");
  return protoLoader.loadFileDescriptorSetFromObject(descriptorSet, LOADER_OPTIONS);
}

/** Turns a package definition into typed service constructors and definitions. */
export function loadGrpcObjects(definition: protoLoader.PackageDefinition): OttoscalerGrpc {
  return grpc.loadPackageDefinition(definition) as unknown as OttoscalerGrpc;
}
