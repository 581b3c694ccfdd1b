// .proto text → google.protobuf.FileDescriptorProto, the form @bufbuild/protobuf builds a
// registry from (DESIGN §8, §9). protobufjs parses and resolves names; this module writes the
// descriptors: fields, maps (as map-entry messages), oneofs (proto3 `optional` as synthetic
// oneofs), enums, services, extensions, reserved ranges and options. Custom options (`(name)`)
// need the extensions' descriptors, so they are collected here and applied by
// proto-options.ts once a first registry exists. CONTROL path.

import { create, fromJson, type JsonValue, type Message } from '@bufbuild/protobuf';
import type { GenMessage } from '@bufbuild/protobuf/codegenv2';
import {
  DescriptorProtoSchema,
  Edition,
  EnumDescriptorProtoSchema,
  EnumOptionsSchema,
  EnumValueOptionsSchema,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as FieldType,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  MessageOptionsSchema,
  MethodDescriptorProtoSchema,
  MethodOptionsSchema,
  OneofOptionsSchema,
  ServiceDescriptorProtoSchema,
  ServiceOptionsSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  type ServiceDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import protobuf from 'protobufjs';
import { addBuiltinsTo, isBuiltinFile } from './builtin-protos.js';
import type { ProtoFile, ProtoSources } from './proto-sources.js';
import { at, defaultText, escapeRegExp, jsonName, lineOf, mapEntryName, parseProblem, rangeEnd, unflatten } from './proto-text.js';

/** A custom option to set once the extension it names is known (proto-options.ts). */
export interface PendingOption {
  readonly file: ProtoFile;
  /** Fully-qualified scope the option's name is resolved from (protobuf scoping rules). */
  readonly scope: string;
  /** The extension name as written, without parentheses. */
  readonly name: string;
  readonly value: unknown;
  /** The options message (FieldOptions, MethodOptions, ...) the extension goes into. */
  readonly target: Message;
  /** What carries the option, for messages: `field shop.v1.Order.id`. */
  readonly where: string;
}

export interface ParsedProtos {
  /** One per user file, in the order read (not yet sorted by dependency). */
  readonly files: FileDescriptorProto[];
  readonly pending: PendingOption[];
  readonly problems: string[];
}

const SCALARS: Readonly<Record<string, FieldType>> = {
  double: FieldType.DOUBLE, float: FieldType.FLOAT, int64: FieldType.INT64, uint64: FieldType.UINT64,
  int32: FieldType.INT32, fixed64: FieldType.FIXED64, fixed32: FieldType.FIXED32, bool: FieldType.BOOL,
  string: FieldType.STRING, bytes: FieldType.BYTES, uint32: FieldType.UINT32, sfixed32: FieldType.SFIXED32,
  sfixed64: FieldType.SFIXED64, sint32: FieldType.SINT32, sint64: FieldType.SINT64,
};

/** Parses every .proto file of `sources` (and the imports found beside listed files). */
export function parseProtoFiles(sources: ProtoSources): ParsedProtos {
  const problems: string[] = [];
  const root = new protobuf.Root();
  addBuiltinsTo(root);
  const parsed = new Map<string, { file: ProtoFile; result: protobuf.IParserResult }>();
  const known = new Set(sources.protoFiles.map((f) => f.name));

  // The list grows while it is walked: an import found beside a listed file is appended.
  for (let i = 0; i < sources.protoFiles.length; i++) {
    const file = sources.protoFiles[i]!;
    let result: protobuf.IParserResult;
    try {
      (protobuf.parse as { filename?: string | null }).filename = file.name;
      result = protobuf.parse(file.text, root, { keepCase: true, alternateCommentMode: true });
    } catch (err) {
      problems.push(parseProblem(file, err as Error));
      continue;
    } finally {
      (protobuf.parse as { filename?: string | null }).filename = null;
    }
    parsed.set(file.name, { file, result });
    for (const name of [...(result.imports ?? []), ...(result.weakImports ?? [])]) {
      if (isBuiltinFile(name) || known.has(name)) continue;
      if (sources.readImport(name) !== undefined) {
        known.add(name);
        continue;
      }
      const line = lineOf(file.text, new RegExp(`import\\s+(?:public\\s+|weak\\s+)?["']${escapeRegExp(name)}["']`));
      problems.push(`${at(file, line)}: import "${name}" not found in the catalog.protos folders (${sources.roots.join(', ') || 'none'}); list the folder that import paths are relative to`);
      known.add(name); // once per name
    }
  }
  if (problems.length > 0) return { files: [], pending: [], problems };

  const byFile = new Map<string, protobuf.ReflectionObject[]>();
  collectTopLevel(root, byFile);
  const files: FileDescriptorProto[] = [];
  const pending: PendingOption[] = [];
  for (const { file, result } of parsed.values()) {
    const objects = byFile.get(file.name) ?? [];
    const converter = new FileConverter(file, pending, problems);
    files.push(converter.file(result, objects));
  }
  return { files, pending, problems };
}

/** Groups the top-level messages, enums, services and extensions of user files by file name. */
function collectTopLevel(ns: protobuf.NamespaceBase, byFile: Map<string, protobuf.ReflectionObject[]>): void {
  for (const obj of ns.nestedArray) {
    const isTopLevel = obj instanceof protobuf.Type || obj instanceof protobuf.Enum || obj instanceof protobuf.Service || (obj instanceof protobuf.Field && obj.extend !== undefined);
    if (isTopLevel) {
      if (obj.filename === null || isBuiltinFile(obj.filename)) continue;
      let list = byFile.get(obj.filename);
      if (list === undefined) byFile.set(obj.filename, (list = []));
      list.push(obj);
    } else if (obj instanceof protobuf.Namespace) collectTopLevel(obj, byFile);
  }
}

class FileConverter {
  private syntax: 'proto2' | 'proto3' | 'editions' = 'proto2';

  constructor(
    private readonly source: ProtoFile,
    private readonly pending: PendingOption[],
    private readonly problems: string[],
  ) {}

  file(result: protobuf.IParserResult, objects: readonly protobuf.ReflectionObject[]): FileDescriptorProto {
    const text = this.source.text;
    const edition = /^\s*edition\s*=\s*["'](\d+)["']/m.exec(text)?.[1];
    const syntax = /^\s*syntax\s*=\s*["'](proto[23])["']/m.exec(text)?.[1];
    this.syntax = edition !== undefined ? 'editions' : syntax === 'proto3' ? 'proto3' : 'proto2';
    const imports = [...(result.imports ?? []), ...(result.weakImports ?? [])];
    const fdp = create(FileDescriptorProtoSchema, {
      name: this.source.name,
      package: result.package ?? '',
      dependency: imports,
      publicDependency: imports.flatMap((name, i) => (new RegExp(`import\\s+public\\s+["']${escapeRegExp(name)}["']`).test(text) ? [i] : [])),
      weakDependency: imports.flatMap((name, i) => (result.weakImports?.includes(name) ? [i] : [])),
      // protoc leaves `syntax` unset for proto2.
      syntax: this.syntax === 'proto2' ? undefined : this.syntax,
    });
    if (edition !== undefined) fdp.edition = edition === '2024' ? Edition.EDITION_2024 : Edition.EDITION_2023;
    for (const obj of objects) {
      if (obj instanceof protobuf.Type) fdp.messageType.push(this.message(obj));
      else if (obj instanceof protobuf.Enum) fdp.enumType.push(this.enum(obj));
      else if (obj instanceof protobuf.Service) fdp.service.push(this.service(obj));
      else if (obj instanceof protobuf.Field) {
        const ext = this.field(obj, undefined);
        if (ext !== undefined) fdp.extension.push(ext);
      }
    }
    return fdp;
  }

  private message(type: protobuf.Type): DescriptorProto {
    const msg = create(DescriptorProtoSchema, { name: type.name });
    const scope = type.fullName.slice(1);
    // Real oneofs first, synthetic ones (proto3 `optional`) after them, as protoc orders them.
    const oneofs = type.oneofsArray;
    const synthetic = (o: protobuf.OneOf) => o.fieldsArray.length === 1 && o.fieldsArray[0]!.options?.proto3_optional === true;
    const ordered = [...oneofs.filter((o) => !synthetic(o)), ...oneofs.filter(synthetic)];
    for (const o of ordered) {
      msg.oneofDecl.push({
        $typeName: 'google.protobuf.OneofDescriptorProto',
        name: o.name,
        options: this.options(OneofOptionsSchema, o, scope, `oneof ${scope}.${o.name}`),
      });
    }
    for (const field of type.fieldsArray) {
      if (field.declaringField !== null && field.declaringField !== undefined) continue; // an extension's copy
      const fd = this.field(field, type);
      if (fd === undefined) continue;
      if (field.partOf !== null && field.partOf !== undefined) fd.oneofIndex = ordered.indexOf(field.partOf);
      if (field instanceof protobuf.MapField) msg.nestedType.push(this.mapEntry(field));
      msg.field.push(fd);
    }
    for (const nested of type.nestedArray) {
      if (nested instanceof protobuf.Type) msg.nestedType.push(this.message(nested));
      else if (nested instanceof protobuf.Enum) msg.enumType.push(this.enum(nested));
      else if (nested instanceof protobuf.Field && nested.extend !== undefined) {
        const ext = this.field(nested, undefined);
        if (ext !== undefined) msg.extension.push(ext);
      }
    }
    for (const r of type.reserved ?? []) {
      if (typeof r === 'string') msg.reservedName.push(r);
      else msg.reservedRange.push({ $typeName: 'google.protobuf.DescriptorProto.ReservedRange', start: r[0]!, end: rangeEnd(r[1]!) });
    }
    for (const r of type.extensions ?? []) {
      msg.extensionRange.push({ $typeName: 'google.protobuf.DescriptorProto.ExtensionRange', start: r[0]!, end: rangeEnd(r[1]!) });
    }
    msg.options = this.options(MessageOptionsSchema, type, scope, `message ${scope}`);
    return msg;
  }

  private field(field: protobuf.Field, owner: protobuf.Type | undefined): FieldDescriptorProto | undefined {
    const scope = (owner ?? field.parent)?.fullName.slice(1) ?? '';
    const fullName = `${scope === '' ? '' : scope + '.'}${field.name}`;
    // Names are looked up here, not with protobufjs's resolve(): that compiles the whole
    // message, so one bad field would be reported on another.
    const context = field.parent as protobuf.Namespace | null;
    const scalar = SCALARS[field.type] !== undefined;
    const resolved = scalar ? null : (context?.lookup(field.type, [protobuf.Type, protobuf.Enum]) ?? null);
    if (!scalar && resolved === null) {
      const line = lineOf(this.source.text, new RegExp(`\\b${escapeRegExp(field.name)}\\s*=\\s*${field.id}\\b`));
      this.problems.push(`${at(this.source, line)}: field ${fullName}: unknown type "${field.type}"`);
      return undefined;
    }
    const fd = create(FieldDescriptorProtoSchema, { name: field.name, number: field.id });
    const opts = field.options ?? {};
    if (field instanceof protobuf.MapField) {
      fd.label = Label.REPEATED;
      fd.type = FieldType.MESSAGE;
      fd.typeName = `.${scope}.${mapEntryName(field.name)}`;
    } else {
      const rule = (field as { rule?: string }).rule;
      fd.label = rule === 'repeated' ? Label.REPEATED : rule === 'required' ? Label.REQUIRED : Label.OPTIONAL;
      this.setType(fd, field.type, resolved as protobuf.Type | protobuf.Enum | null);
    }
    if (field.extend !== undefined) {
      const extendee = (field.parent as protobuf.Namespace | null)?.lookup(field.extend, [protobuf.Type]);
      if (!(extendee instanceof protobuf.Type)) {
        const line = lineOf(this.source.text, new RegExp(`extend\\s+${escapeRegExp(field.extend)}\\b`));
        this.problems.push(`${at(this.source, line)}: extend ${field.extend}: no such message`);
        return undefined;
      }
      fd.extendee = extendee.fullName;
    }
    fd.jsonName = typeof opts.json_name === 'string' ? opts.json_name : jsonName(field.name);
    if (opts.default !== undefined) fd.defaultValue = defaultText(opts.default);
    if (opts.proto3_optional === true) fd.proto3Optional = true;
    fd.options = this.options(FieldOptionsSchema, field, scope, `field ${fullName}`, ['json_name', 'default', 'proto3_optional']);
    return fd;
  }

  private setType(fd: FieldDescriptorProto, type: string, resolved: protobuf.Type | protobuf.Enum | null): void {
    const scalar = SCALARS[type];
    if (scalar !== undefined) {
      fd.type = scalar;
      return;
    }
    if (resolved instanceof protobuf.Enum) fd.type = FieldType.ENUM;
    else fd.type = (resolved as { group?: boolean } | null)?.group === true ? FieldType.GROUP : FieldType.MESSAGE;
    fd.typeName = resolved?.fullName ?? type;
  }

  /** The map-entry message protoc synthesises for `map<K, V> name = N`. */
  private mapEntry(field: protobuf.MapField): DescriptorProto {
    const entry = create(DescriptorProtoSchema, { name: mapEntryName(field.name), options: { mapEntry: true } });
    const key = create(FieldDescriptorProtoSchema, { name: 'key', number: 1, label: Label.OPTIONAL, jsonName: 'key' });
    this.setType(key, field.keyType, null);
    const value = create(FieldDescriptorProtoSchema, { name: 'value', number: 2, label: Label.OPTIONAL, jsonName: 'value' });
    const resolved = SCALARS[field.type] === undefined ? (field.parent as protobuf.Namespace).lookup(field.type, [protobuf.Type, protobuf.Enum]) : null;
    this.setType(value, field.type, resolved as protobuf.Type | protobuf.Enum | null);
    entry.field.push(key, value);
    return entry;
  }

  private enum(e: protobuf.Enum): EnumDescriptorProto {
    const scope = e.fullName.slice(1);
    const ed = create(EnumDescriptorProtoSchema, { name: e.name });
    for (const [name, number] of Object.entries(e.values)) {
      const flat = e.valuesOptions?.[name];
      ed.value.push({
        $typeName: 'google.protobuf.EnumValueDescriptorProto',
        name,
        number,
        options: this.optionsFrom(EnumValueOptionsSchema, unflatten(flat), scope, `enum value ${scope}.${name}`),
      });
    }
    for (const r of e.reserved ?? []) {
      if (typeof r === 'string') ed.reservedName.push(r);
      else ed.reservedRange.push({ $typeName: 'google.protobuf.EnumDescriptorProto.EnumReservedRange', start: r[0]!, end: r[1]! });
    }
    ed.options = this.options(EnumOptionsSchema, e, scope, `enum ${scope}`);
    return ed;
  }

  private service(s: protobuf.Service): ServiceDescriptorProto {
    const scope = s.fullName.slice(1);
    const sd = create(ServiceDescriptorProtoSchema, { name: s.name, options: this.options(ServiceOptionsSchema, s, scope, `service ${scope}`) });
    for (const m of s.methodsArray) {
      const input = s.lookup(m.requestType, [protobuf.Type]);
      const output = s.lookup(m.responseType, [protobuf.Type]);
      if (input === null || output === null) {
        const line = lineOf(this.source.text, new RegExp(`rpc\\s+${escapeRegExp(m.name)}\\b`));
        this.problems.push(`${at(this.source, line)}: rpc ${scope}/${m.name}: unknown message type "${input === null ? m.requestType : m.responseType}"`);
        continue;
      }
      sd.method.push(create(MethodDescriptorProtoSchema, {
        name: m.name,
        inputType: input.fullName,
        outputType: output.fullName,
        // Set only when true, as protoc does (proto2 fields: presence is visible).
        ...(m.requestStream === true ? { clientStreaming: true } : {}),
        ...(m.responseStream === true ? { serverStreaming: true } : {}),
        options: this.options(MethodOptionsSchema, m, scope, `rpc ${scope}/${m.name}`),
      }));
    }
    return sd;
  }

  /** The options of a protobufjs object: parsedOptions (nested values) plus editions features. */
  private options<T extends Message>(
    schema: GenMessage<T, any>,
    obj: protobuf.ReflectionObject,
    scope: string,
    where: string,
    skip: readonly string[] = [],
  ): T | undefined {
    const entries: Record<string, unknown> = {};
    const parsedOptions = (obj.parsedOptions ?? undefined) as Record<string, unknown>[] | undefined;
    if (parsedOptions !== undefined) {
      for (const entry of parsedOptions) Object.assign(entries, entry);
    } else Object.assign(entries, unflatten(obj.options));
    const features = (obj.options as Record<string, unknown> | undefined)?.features;
    if (features !== undefined && entries.features === undefined) entries.features = features;
    for (const key of skip) delete entries[key];
    return this.optionsFrom(schema, entries, scope, where);
  }

  private optionsFrom<T extends Message>(
    schema: GenMessage<T, any>,
    entries: Record<string, unknown> | undefined,
    scope: string,
    where: string,
  ): T | undefined {
    if (entries === undefined || Object.keys(entries).length === 0) return undefined;
    const standard: Record<string, unknown> = {};
    const custom: [string, unknown][] = [];
    for (const [key, value] of Object.entries(entries)) {
      if (key.startsWith('(')) custom.push([key.slice(1, key.indexOf(')')), value]);
      else standard[key] = value;
    }
    let target: T;
    try {
      target = fromJson(schema, standard as JsonValue) as unknown as T;
    } catch (err) {
      const key = Object.keys(standard)[0] ?? '';
      const line = lineOf(this.source.text, new RegExp(`\\b${escapeRegExp(key)}\\s*=`));
      this.problems.push(`${at(this.source, line)}: ${where}: invalid option: ${(err as Error).message}`);
      return undefined;
    }
    for (const [name, value] of custom) this.pending.push({ file: this.source, scope, name, value, target, where });
    return target;
  }
}
