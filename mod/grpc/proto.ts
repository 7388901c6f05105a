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
import type { ProtoFileHeader } from "./descriptors.ts";
import { PROTO_FILES, type ProtoFile } from "./proto_files.ts";
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

/** A file's `syntax`, which protobufjs's parser does not report; editions are refused. */
function syntaxOf(file: ProtoFile): ProtoFileHeader["syntax"] {
  const text = file.text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
  if (/^\s*edition\s*=/m.test(text)) {
    throw new Error(`${file.path}: protobuf editions are not supported, use syntax = "proto3"`);
  }
  return /^\s*syntax\s*=\s*["']proto3["']/m.test(text) ? "proto3" : "proto2";
}

/** A file's header: its package, imports, syntax and file options (which protobufjs puts on the
 * package's namespace, so each file is parsed alone for them). */
function headerOf(file: ProtoFile): ProtoFileHeader {
  const parsed = protobuf.parse(file.text, new protobuf.Root(), { keepCase: true });
  const pkg = parsed.package ?? "";
  const ns = pkg ? parsed.root.lookup(pkg) : parsed.root;
  return {
    path: file.path,
    pkg,
    imports: [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])],
    syntax: syntaxOf(file),
    options: ns?.options ?? {},
  };
}

/**
 * Parses `.proto` files into one resolved Root, recording on every declaration the file it came
 * from. Imports of protobuf's well-known types (`google/protobuf/timestamp.proto`, ...) that are
 * not among `files` are added from protobufjs's bundled copies; the headers list every file,
 * dependencies first.
 */
export function parseProtoFiles(files: readonly ProtoFile[]): {
  root: protobuf.Root;
  headers: ProtoFileHeader[];
} {
  const root = new protobuf.Root();
  const headers = files.map(headerOf);
  const given = new Set(files.map((f) => f.path));
  const wellKnown: ProtoFileHeader[] = [];
  for (const dep of new Set(headers.flatMap((h) => h.imports))) {
    const json = given.has(dep) ? null : protobuf.common.get(dep);
    if (!json) continue;
    root.addJSON(json.nested ?? {});
    // The bundled types carry no file name; they are all of this file (added last so far).
    const pkg = root.lookup("google.protobuf") as protobuf.Namespace | null;
    for (const obj of pkg?.nestedArray ?? []) obj.filename ??= dep;
    wellKnown.push({
      path: dep,
      pkg: "google.protobuf",
      imports: [],
      syntax: "proto3",
      options: {},
    });
  }
  for (const file of files) {
    // protobufjs records the file each type came from through this static; parse resets it.
    (protobuf.parse as unknown as { filename: string | null }).filename = file.path;
    protobuf.parse(file.text, root, { keepCase: true, alternateCommentMode: true });
  }
  root.resolveAll();
  return { root, headers: [...wellKnown, ...headers] };
}

/** Parses the embedded `.proto` files into the package definition that serves and calls. */
export function loadPackageDefinition(): protoLoader.PackageDefinition {
  // Through JSON, not descriptors: protobufjs turns a descriptor's map entries back into
  // repeated messages, not maps, which breaks every map<> field.
  const definition = protoLoader.fromJSON(
    parseProtoFiles(PROTO_FILES).root.toJSON(),
    LOADER_OPTIONS,
  );
  // Bad bytes are INVALID_ARGUMENT, and PipelineStage.type is read by its wire type (decode.ts).
  tolerantDecoding(definition, "ottoscaler.v1.OttoscalerService");
  tolerantDecoding(definition, "ottoscaler.v1.LogStreamingService");
  return definition;
}

/** Turns a package definition into typed service constructors and definitions. */
export function loadGrpcObjects(definition: protoLoader.PackageDefinition): OttoscalerGrpc {
  return grpc.loadPackageDefinition(definition) as unknown as OttoscalerGrpc;
}
