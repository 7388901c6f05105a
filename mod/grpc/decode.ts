/**
 * Request decoding, done once for the whole service at the package definition:
 *
 * - `PipelineStage.type` (field 2) is read by its wire type: a varint is the StageType number; a
 *   length-delimited value is the seed's older string form (`build`, `test`, ...), which is taken
 *   out of the bytes before decoding (decoded as an enum it would be garbage) and handed on as
 *   the stage's `type` string, checked with the other rules of the stage.
 * - A request whose bytes do not decode becomes a marker instead of an exception (grpc-js turns
 *   a throwing deserializer into INTERNAL); {@linkcode requestOf} turns the marker into a
 *   ValidationError naming the message, which the service answers as INVALID_ARGUMENT.
 *
 * @module
 */

import type * as protoLoader from "@grpc/proto-loader";
import { ValidationError } from "../worker/errors.ts";

const UNDECODABLE = Symbol("undecodable");

interface Undecodable {
  readonly [UNDECODABLE]: ValidationError;
}

/** The request, or the ValidationError of a request that did not decode. */
export function requestOf<T>(request: T): T {
  const failure = (request as Partial<Undecodable> | null)?.[UNDECODABLE];
  if (failure) throw failure;
  return request;
}

/** Reads a varint at `pos`; returns the value and the position after it. */
function varint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new RangeError("truncated varint");
    const byte = buf[pos++];
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new RangeError("varint longer than 10 bytes");
}

/** One field of a message: its number, wire type, and where it starts, its payload and its end. */
interface Field {
  readonly number: number;
  readonly wireType: number;
  readonly start: number;
  readonly payload: number;
  readonly end: number;
}

/** Splits a message into its fields; throws on malformed bytes. */
function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, afterTag] = varint(buf, pos);
    const number = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (number === 0) throw new RangeError("field number 0");
    let payload = afterTag;
    let end: number;
    if (wireType === 0) [, end] = varint(buf, afterTag);
    else if (wireType === 1) end = afterTag + 8;
    else if (wireType === 5) end = afterTag + 4;
    else if (wireType === 2) {
      const [length, afterLength] = varint(buf, afterTag);
      payload = afterLength;
      end = afterLength + length;
    } else throw new RangeError(`unsupported wire type ${wireType}`);
    if (end > buf.length) throw new RangeError("truncated field");
    out.push({ number, wireType, start, payload, end });
    pos = end;
  }
  return out;
}

function encodeVarint(value: number): number[] {
  const out: number[] = [];
  while (value > 127) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/**
 * Takes string-typed `type` fields out of a PipelineRequest's stages: the bytes without them and,
 * by stage index, the strings.
 */
export function extractLegacyStageTypes(
  buf: Uint8Array,
): { bytes: Uint8Array; legacy: Map<number, string> } {
  const legacy = new Map<number, string>();
  const parts: Uint8Array[] = [];
  let index = 0;
  for (const field of fields(buf)) {
    if (field.number !== 3 || field.wireType !== 2) {
      parts.push(buf.subarray(field.start, field.end));
      continue;
    }
    const stage = buf.subarray(field.payload, field.end);
    const stageFields = fields(stage);
    const typed = stageFields.filter((f) => f.number === 2 && f.wireType === 2);
    if (typed.length === 0) parts.push(buf.subarray(field.start, field.end));
    else {
      const last = typed[typed.length - 1];
      legacy.set(index, new TextDecoder().decode(stage.subarray(last.payload, last.end)));
      const kept = stageFields.filter((f) => !(f.number === 2 && f.wireType === 2));
      const body = concat(kept.map((f) => stage.subarray(f.start, f.end)));
      parts.push(Uint8Array.of(...encodeVarint(3 * 8 + 2), ...encodeVarint(body.length)), body);
    }
    index++;
  }
  return { bytes: legacy.size > 0 ? concat(parts) : buf, legacy };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

type Deserialize = (bytes: Buffer) => unknown;

/**
 * Replaces the request deserializers of `service`'s methods in `definition`: undecodable bytes
 * give a marker for {@linkcode requestOf}, and PipelineRequest's stage types are read by wire type.
 */
export function tolerantDecoding(definition: protoLoader.PackageDefinition, service: string): void {
  const methods = definition[service] as protoLoader.ServiceDefinition | undefined;
  if (!methods) throw new Error(`no service ${service} in the package definition`);
  for (const method of Object.values(methods)) {
    if (method.requestStream) continue;
    const messageName = (method.requestType.type as { name?: string }).name ?? "request";
    const original: Deserialize = method.requestDeserialize;
    const decode: Deserialize = messageName === "PipelineRequest"
      ? (bytes) => {
        const { bytes: rest, legacy } = extractLegacyStageTypes(bytes);
        const request = original(Buffer.from(rest.buffer, rest.byteOffset, rest.length)) as {
          stages?: { type?: unknown }[];
        };
        for (const [i, type] of legacy) {
          if (request.stages?.[i]) request.stages[i].type = type;
        }
        return request;
      }
      : (bytes) => {
        // protobufjs passes over a truncated field; the wire's framing is checked here.
        fields(bytes);
        return original(bytes);
      };
    (method as { requestDeserialize: Deserialize }).requestDeserialize = (bytes) => {
      try {
        return decode(bytes);
      } catch (err) {
        const marker: Undecodable = {
          [UNDECODABLE]: new ValidationError(
            messageName,
            `the request's bytes do not decode as ottoscaler.v1.${messageName}: ${
              (err as Error).message
            }`,
          ),
        };
        return marker;
      }
    };
  }
}
