// The .proto files every catalog has without shipping them (DESIGN §8, §9): the google/protobuf
// well-known types (from @bufbuild/protobuf) and buf/validate/validate.proto (from
// @bufbuild/protovalidate). CONTROL path: used while loading declarations.

import type { DescEnum, DescField, DescFile, DescMessage } from '@bufbuild/protobuf';
import * as wkt from '@bufbuild/protobuf/wkt';
import { file_buf_validate_validate } from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import protobuf from 'protobufjs';

const BUILTIN_FILES: readonly DescFile[] = [
  wkt.file_google_protobuf_any,
  wkt.file_google_protobuf_api,
  wkt.file_google_protobuf_compiler_plugin,
  wkt.file_google_protobuf_cpp_features,
  wkt.file_google_protobuf_descriptor,
  wkt.file_google_protobuf_duration,
  wkt.file_google_protobuf_empty,
  wkt.file_google_protobuf_field_mask,
  wkt.file_google_protobuf_go_features,
  wkt.file_google_protobuf_java_features,
  wkt.file_google_protobuf_source_context,
  wkt.file_google_protobuf_struct,
  wkt.file_google_protobuf_timestamp,
  wkt.file_google_protobuf_type,
  wkt.file_google_protobuf_wrappers,
  file_buf_validate_validate,
];

/** Built-in files by import name (`google/protobuf/timestamp.proto`). */
export const builtinFiles: ReadonlyMap<string, DescFile> = new Map(BUILTIN_FILES.map((f) => [f.proto.name, f]));

/** Whether an import names a built-in file (a user's copy of it is ignored). */
export function isBuiltinFile(name: string): boolean {
  return builtinFiles.has(name);
}

/**
 * Adds the messages and enums of every built-in file to a protobufjs root, so that user files
 * parsed into it resolve references such as `google.protobuf.Timestamp`. Each object's
 * `filename` is the built-in file's name, which the converter skips (the descriptors of
 * built-in files come from the packages, not from this copy).
 */
export function addBuiltinsTo(root: protobuf.Root): void {
  for (const file of BUILTIN_FILES) {
    const ns = file.proto.package === '' ? root : root.define(file.proto.package);
    for (const m of file.messages) ns.add(typeOf(m, file.proto.name));
    for (const e of file.enums) ns.add(enumOf(e, file.proto.name));
  }
}

function typeOf(desc: DescMessage, filename: string): protobuf.Type {
  const type = new protobuf.Type(desc.name);
  type.filename = filename;
  for (const f of desc.fields) type.add(fieldOf(f));
  for (const nested of desc.nestedMessages) {
    if (nested.proto.options?.mapEntry === true) continue; // protobufjs models maps as MapField
    type.add(typeOf(nested, filename));
  }
  for (const e of desc.nestedEnums) type.add(enumOf(e, filename));
  return type;
}

function enumOf(desc: DescEnum, filename: string): protobuf.Enum {
  const values: Record<string, number> = {};
  for (const v of desc.values) values[v.name] = v.number;
  const e = new protobuf.Enum(desc.name, values);
  e.filename = filename;
  return e;
}

function fieldOf(f: DescField): protobuf.Field | protobuf.MapField {
  switch (f.fieldKind) {
    case 'map': {
      const value = f.mapKind === 'scalar' ? scalarName(f.scalar) : '.' + (f.mapKind === 'enum' ? f.enum.typeName : f.message.typeName);
      return new protobuf.MapField(f.name, f.number, scalarName(f.mapKey), value);
    }
    case 'list': {
      const type = f.listKind === 'scalar' ? scalarName(f.scalar) : '.' + (f.listKind === 'enum' ? f.enum.typeName : f.message.typeName);
      return new protobuf.Field(f.name, f.number, type, 'repeated');
    }
    case 'scalar':
      return new protobuf.Field(f.name, f.number, scalarName(f.scalar));
    case 'enum':
      return new protobuf.Field(f.name, f.number, '.' + f.enum.typeName);
    case 'message':
      return new protobuf.Field(f.name, f.number, '.' + f.message.typeName);
  }
}

// ScalarType numbers are FieldDescriptorProto.Type numbers.
const SCALAR_NAMES: Readonly<Record<number, string>> = {
  1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32', 8: 'bool',
  9: 'string', 12: 'bytes', 13: 'uint32', 15: 'sfixed32', 16: 'sfixed64', 17: 'sint32', 18: 'sint64',
};

function scalarName(scalar: number): string {
  const name = SCALAR_NAMES[scalar];
  if (name === undefined) throw new Error(`unknown scalar type ${scalar}`);
  return name;
}
