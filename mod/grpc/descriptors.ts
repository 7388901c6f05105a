/**
 * File descriptors as protoc makes them, for server reflection.
 *
 * protobufjs's own `Root#toDescriptor` (which @grpc/proto-loader uses for the descriptors that
 * @grpc/reflection serves) merges every file of a package into one, names a map field's entry type
 * after the field (`Labels`, not `LabelsEntry`), drops `json_name` and imports, and uses relative
 * type names. The strict Go protobuf runtime behind grpcurl, grpcui, Evans and grpc-health-probe
 * rejects such files ("is an invalid map: incorrect implicit map entry name"), so reflection was
 * usable for `list` only; see https://github.com/fullstorydev/grpcurl/issues/519.
 *
 * This module builds the descriptors itself from the parsed protobufjs reflection objects, one
 * {@linkcode FileDescriptorProtoObject} per `.proto` file, registered under the path other files
 * import it by, with protoc's conventions: map entries `<Field>Entry` nested in the message with
 * `map_entry = true`, `json_name` on every field, fully qualified type names, declared imports as
 * `dependency`, `syntax`, and proto3 `optional` as a synthetic oneof after the real ones. Nothing
 * here knows any particular message, so new messages, maps and files need nothing extra.
 *
 * @module
 */

import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";

/** A `.proto` file's metadata, as declared in its header. */
export interface ProtoFileHeader {
  /** The path other files import it by, e.g. `ottoscaler/v1/worker.proto`. */
  readonly path: string;
  /** The package, e.g. `ottoscaler.v1` (empty for none). */
  readonly pkg: string;
  /** The imported paths, in order. */
  readonly imports: readonly string[];
  /** `proto2` or `proto3`. */
  readonly syntax: "proto2" | "proto3";
  /** File-level options (`go_package`, ...), as protobufjs parsed them. */
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * A `google.protobuf.FileDescriptorProto` as a plain object with protobufjs's camelCase field names
 * (the shape `FileDescriptorProto.fromObject` takes).
 */
export type FileDescriptorProtoObject = Record<string, unknown>;

// FieldDescriptorProto.Type and .Label.
const SCALAR_TYPES: Readonly<Record<string, number>> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const TYPE_GROUP = 10;
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REQUIRED = 2;
const LABEL_REPEATED = 3;
/** Message field numbers go up to 2^29 - 1; `max` in a range means that. */
const MAX_FIELD_NUMBER = 536_870_911;

// protobufjs's pseudo-options: its parser records these as options, but they are not options.
const PSEUDO_OPTIONS = new Set(["proto3_optional", "default", "json_name", "features"]);

/** protoc's json_name: underscores dropped, the letter after each one upper-cased. */
export function jsonName(fieldName: string): string {
  return fieldName.replace(/_+(.)?/g, (_m, next?: string) => next?.toUpperCase() ?? "");
}

/** protoc's name of a map field's entry type: the field name in CamelCase, then `Entry`. */
export function mapEntryName(fieldName: string): string {
  const camel = jsonName(fieldName);
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Keeps the options a descriptor's `*Options` message declares (custom options and protobufjs's
 * pseudo-options are dropped), renamed to its camelCase fields; undefined when none remain.
 */
function optionsFor(
  type: protobuf.Type,
  options: Readonly<Record<string, unknown>> | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = { ...extra };
  for (const [key, value] of Object.entries(options ?? {})) {
    if (PSEUDO_OPTIONS.has(key)) continue;
    const name = snakeToCamel(key);
    if (name in type.fields) out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** `.pkg.Name` of a resolved type, as protoc writes type names. */
function qualified(obj: protobuf.ReflectionObject): string {
  return obj.fullName.startsWith(".") ? obj.fullName : `.${obj.fullName}`;
}

function typeOf(
  typeName: string,
  resolved: protobuf.ReflectionObject | null,
  delimited: boolean,
): { type: number; typeName?: string } {
  if (resolved instanceof protobuf.Type) {
    return { type: delimited ? TYPE_GROUP : TYPE_MESSAGE, typeName: qualified(resolved) };
  }
  if (resolved instanceof protobuf.Enum) return { type: TYPE_ENUM, typeName: qualified(resolved) };
  const scalar = SCALAR_TYPES[typeName];
  if (scalar === undefined) throw new Error(`unresolved field type ${typeName}`);
  return { type: scalar };
}

function fieldDescriptor(
  field: protobuf.Field,
  syntax: ProtoFileHeader["syntax"],
  oneofIndex: number | undefined,
  mapEntry: string | undefined,
): Record<string, unknown> {
  const options = field.options as Record<string, unknown> | undefined;
  const out: Record<string, unknown> = {
    name: field.name,
    number: field.id,
    jsonName: typeof options?.json_name === "string" ? options.json_name : jsonName(field.name),
  };
  if (mapEntry !== undefined) {
    // A map<K, V> field is a repeated field of its entry message.
    Object.assign(out, { label: LABEL_REPEATED, type: TYPE_MESSAGE, typeName: mapEntry });
  } else {
    Object.assign(out, typeOf(field.type, field.resolvedType, field.delimited));
    out.label = field.repeated
      ? LABEL_REPEATED
      : field.required && syntax === "proto2"
      ? LABEL_REQUIRED
      : LABEL_OPTIONAL;
  }
  if (field.extensionField) out.extendee = qualified(field.extensionField.parent!);
  if (oneofIndex !== undefined) out.oneofIndex = oneofIndex;
  if (options?.proto3_optional === true) out.proto3Optional = true;
  if (options?.default !== undefined) out.defaultValue = String(options.default);
  const fieldOptions = optionsFor(descriptor.FieldOptions, options);
  if (fieldOptions) out.options = fieldOptions;
  return out;
}

/** The nested `<Field>Entry` message protoc generates for a map field. */
function mapEntryDescriptor(field: protobuf.MapField): Record<string, unknown> {
  const keyType = SCALAR_TYPES[field.keyType];
  if (keyType === undefined) throw new Error(`map key type ${field.keyType} of ${field.fullName}`);
  return {
    name: mapEntryName(field.name),
    field: [
      { name: "key", number: 1, label: LABEL_OPTIONAL, type: keyType, jsonName: "key" },
      {
        name: "value",
        number: 2,
        label: LABEL_OPTIONAL,
        jsonName: "value",
        ...typeOf(field.type, field.resolvedType, false),
      },
    ],
    options: { mapEntry: true },
  };
}

/** protobufjs keeps [start, end] inclusive; a DescriptorProto range ends exclusively. */
function exclusiveRanges(ranges: readonly (number[] | string)[] | undefined) {
  return (ranges ?? []).filter((r): r is number[] => Array.isArray(r)).map(([start, end]) => ({
    start,
    end: Math.min(end, MAX_FIELD_NUMBER) + 1,
  }));
}

function isSynthetic(oneof: protobuf.OneOf): boolean {
  const only = oneof.fieldsArray.length === 1 ? oneof.fieldsArray[0] : undefined;
  return (only?.options as Record<string, unknown> | undefined)?.proto3_optional === true;
}

function messageDescriptor(type: protobuf.Type, syntax: ProtoFileHeader["syntax"]) {
  // Real oneofs first, then the synthetic ones of proto3 `optional` fields, as protoc orders them.
  const oneofs = [
    ...type.oneofsArray.filter((o) => !isSynthetic(o)),
    ...type.oneofsArray.filter(isSynthetic),
  ];
  const fields: Record<string, unknown>[] = [];
  const nested: Record<string, unknown>[] = [];
  const extensions: Record<string, unknown>[] = [];
  for (const field of type.fieldsArray) {
    // Extensions declared elsewhere show up here as sister fields; they are not this message's.
    if (field.declaringField) continue;
    const oneofIndex = field.partOf ? oneofs.indexOf(field.partOf) : -1;
    let entry: string | undefined;
    if (field instanceof protobuf.MapField) {
      const entryType = mapEntryDescriptor(field);
      nested.push(entryType);
      entry = `${qualified(type)}.${entryType.name}`;
    }
    fields.push(fieldDescriptor(field, syntax, oneofIndex >= 0 ? oneofIndex : undefined, entry));
  }
  const enums: Record<string, unknown>[] = [];
  for (const obj of type.nestedArray) {
    if (obj instanceof protobuf.Type) nested.push(messageDescriptor(obj, syntax));
    else if (obj instanceof protobuf.Enum) enums.push(enumDescriptor(obj));
    else if (obj instanceof protobuf.Field) {
      extensions.push(fieldDescriptor(obj, syntax, undefined, undefined));
    }
  }
  return {
    name: type.name,
    field: fields,
    nestedType: nested,
    enumType: enums,
    extension: extensions,
    oneofDecl: oneofs.map((o) => ({
      name: o.name,
      options: optionsFor(descriptor.OneofOptions, o.options),
    })),
    extensionRange: exclusiveRanges(type.extensions),
    reservedRange: exclusiveRanges(type.reserved),
    reservedName: (type.reserved ?? []).filter((r): r is string => typeof r === "string"),
    options: optionsFor(descriptor.MessageOptions, type.options),
  };
}

function enumDescriptor(e: protobuf.Enum) {
  return {
    name: e.name,
    value: Object.entries(e.values).map(([name, number]) => ({
      name,
      number,
      options: optionsFor(descriptor.EnumValueOptions, e.valuesOptions?.[name]),
    })),
    // Enum reserved ranges are inclusive in descriptors too.
    reservedRange: (e.reserved ?? []).filter((r): r is number[] => Array.isArray(r))
      .map(([start, end]) => ({ start, end })),
    reservedName: (e.reserved ?? []).filter((r): r is string => typeof r === "string"),
    options: optionsFor(descriptor.EnumOptions, e.options),
  };
}

function serviceDescriptor(service: protobuf.Service) {
  return {
    name: service.name,
    method: service.methodsArray.map((m) => ({
      name: m.name,
      inputType: qualified(m.resolvedRequestType!),
      outputType: qualified(m.resolvedResponseType!),
      clientStreaming: m.requestStream === true,
      serverStreaming: m.responseStream === true,
      options: optionsFor(descriptor.MethodOptions, m.options),
    })),
    options: optionsFor(descriptor.ServiceOptions, service.options),
  };
}

/** Every type, enum, service and extension declared at a file's top level, in any namespace. */
function topLevelObjects(ns: protobuf.NamespaceBase, out: protobuf.ReflectionObject[] = []) {
  for (const obj of ns.nestedArray) {
    if (
      obj instanceof protobuf.Type || obj instanceof protobuf.Enum ||
      obj instanceof protobuf.Service || obj instanceof protobuf.Field
    ) {
      out.push(obj);
    } else if (obj instanceof protobuf.Namespace) topLevelObjects(obj, out);
  }
  return out;
}

/**
 * Builds protoc-style file descriptors for the files of a resolved Root. Each top-level object is
 * assigned to the file its `filename` names; `headers` lists the files, dependencies first.
 */
export function buildFileDescriptors(
  root: protobuf.Root,
  headers: readonly ProtoFileHeader[],
): FileDescriptorProtoObject[] {
  const byFile = new Map<string, protobuf.ReflectionObject[]>();
  for (const obj of topLevelObjects(root)) {
    const file = obj.filename ?? "";
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file)!.push(obj);
  }
  const known = new Set(headers.map((h) => h.path));
  for (const file of byFile.keys()) {
    if (!known.has(file)) throw new Error(`declarations from an unlisted file "${file}"`);
  }
  return headers.map((h) => {
    const objects = byFile.get(h.path) ?? [];
    for (const dep of h.imports) {
      if (!known.has(dep)) throw new Error(`${h.path} imports "${dep}", which is not loaded`);
    }
    const file: FileDescriptorProtoObject = {
      name: h.path,
      dependency: [...h.imports],
      messageType: objects.filter((o) => o instanceof protobuf.Type)
        .map((t) => messageDescriptor(t as protobuf.Type, h.syntax)),
      enumType: objects.filter((o) => o instanceof protobuf.Enum)
        .map((e) => enumDescriptor(e as protobuf.Enum)),
      service: objects.filter((o) => o instanceof protobuf.Service)
        .map((s) => serviceDescriptor(s as protobuf.Service)),
      extension: objects.filter((o) => o instanceof protobuf.Field)
        .map((f) => fieldDescriptor(f as protobuf.Field, h.syntax, undefined, undefined)),
      options: optionsFor(descriptor.FileOptions, h.options),
    };
    if (h.pkg) file.package = h.pkg;
    // protoc leaves syntax unset for proto2.
    if (h.syntax === "proto3") file.syntax = "proto3";
    return file;
  });
}

/** Encodes file descriptors as `google.protobuf.FileDescriptorProto` bytes. */
export function encodeFileDescriptors(files: readonly FileDescriptorProtoObject[]): Uint8Array[] {
  return files.map((f) => {
    const message = descriptor.FileDescriptorProto.fromObject(f);
    return descriptor.FileDescriptorProto.encode(message).finish();
  });
}
