/**
 * Server reflection (grpc.reflection.v1 and v1alpha), built when its first call arrives:
 * `server.ts` registers both services with pass-through serializers and imports this module only
 * then, so an idle server never parses the reflection protos, builds the protoc-style
 * descriptors, or loads @grpc/reflection and protobufjs's descriptor extension (memory, issue 14:
 * building them at startup made up most of an idle server's startup heap).
 *
 * The calls themselves are @grpc/reflection's own handlers and its own (de)serializers: they are
 * captured from its `addToServer` and given the raw call's bytes.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import { buildFileDescriptors, encodeFileDescriptors } from "./descriptors.ts";
import { grpcError } from "./errors.ts";
import { LOADER_OPTIONS, parseProtoFiles } from "./proto.ts";
import { PROTO_FILES, SERVICE_PROTO_FILES } from "./proto_files.ts";

/**
 * The package definition for server reflection, of every service this server can serve: ours,
 * grpc.health.v1 and server reflection itself. @grpc/reflection reads only the
 * `fileDescriptorProtos` of its entries, so every message and enum carries the descriptors that
 * descriptors.ts builds as protoc does, instead of protobufjs's own, which the Go protobuf runtime
 * of grpcurl and friends rejects (https://github.com/fullstorydev/grpcurl/issues/519).
 */
export function loadReflectionDefinition(): protoLoader.PackageDefinition {
  const { root, headers } = parseProtoFiles([...PROTO_FILES, ...SERVICE_PROTO_FILES]);
  const files = encodeFileDescriptors(buildFileDescriptors(root, headers))
    .map((bytes) => Buffer.from(bytes));
  const definition = protoLoader.fromJSON(root.toJSON(), LOADER_OPTIONS);
  for (const def of Object.values(definition)) {
    if ("fileDescriptorProtos" in def) def.fileDescriptorProtos = files;
  }
  return definition;
}

/** The raw side of one reflection call: what the server's pass-through method hands over. */
export interface RawReflectionCall {
  /** Sends one encoded response. */
  write(bytes: Buffer): void;
  /** Ends the call with OK. */
  end(): void;
  /** Ends the call with an error status. */
  emit(event: "error", error: Error): void;
}

/** One open reflection call, fed with the raw call's requests. */
export interface ReflectionCall {
  /** One encoded request. */
  data(bytes: Buffer): void;
  /** The client has sent everything. */
  end(): void;
}

/** Server reflection over a fixed set of services. */
export interface Reflection {
  /** Opens a call of the method at `path` (v1 or v1alpha `ServerReflectionInfo`). */
  open(path: string, call: RawReflectionCall): ReflectionCall;
}

/** A captured `ServerReflectionInfo`: its definition (for the serializers) and its handler. */
interface Method {
  readonly definition: grpc.MethodDefinition<unknown, unknown>;
  readonly handler: (stream: EventEmitter) => void;
}

/** Builds server reflection that lists `services` (both versions). */
export function openReflection(services: readonly string[]): Reflection {
  const service = new ReflectionService(loadReflectionDefinition(), { services: [...services] });
  const methods = new Map<string, Method>();
  service.addToServer({
    addService(
      definition: grpc.ServiceDefinition,
      implementation: grpc.UntypedServiceImplementation,
    ) {
      for (const [name, method] of Object.entries(definition)) {
        methods.set(method.path, {
          definition: method,
          handler: implementation[name] as unknown as Method["handler"],
        });
      }
    },
  });
  return {
    open(path, call) {
      const method = methods.get(path);
      if (!method) throw new Error(`no reflection method ${path}`);
      // The stream @grpc/reflection's handler expects: requests as "data", its answers written.
      const stream = Object.assign(new EventEmitter(), {
        write: (message: unknown) => call.write(method.definition.responseSerialize(message)),
        end: () => call.end(),
      });
      method.handler(stream);
      return {
        data(bytes) {
          let request: unknown;
          try {
            request = method.definition.requestDeserialize(bytes);
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            call.emit(
              "error",
              grpcError(grpc.status.INVALID_ARGUMENT, `ServerReflectionRequest: ${message}`),
            );
            return;
          }
          stream.emit("data", request);
        },
        end: () => stream.emit("end"),
      };
    },
  };
}
