// Custom options (`[(buf.validate.field).string.min_len = 1]`, `option (my.opt) = 3;`) written
// into the descriptors' options messages as extensions, the way protoc encodes them, so that
// @bufbuild/protobuf's getOption and protovalidate read them. CONTROL path. Runs after a first
// registry exists: the extensions (built in, or declared by user files) must be known.

import {
  fromJson,
  protoInt64,
  ScalarType,
  setExtension,
  type DescEnum,
  type DescExtension,
  type DescMessage,
  type JsonValue,
  type Registry,
} from '@bufbuild/protobuf';
import type { PendingOption } from './proto-descriptors.js';
import { at, escapeRegExp, lineOf } from './proto-text.js';

/** Sets every pending option on its target; returns the problems (unknown option, bad value). */
export function applyCustomOptions(pending: readonly PendingOption[], registry: Registry): string[] {
  const problems: string[] = [];
  for (const p of pending) {
    const where = (): string => at(p.file, lineOf(p.file.text, new RegExp(`\\(\\s*${escapeRegExp(p.name)}\\s*\\)`)));
    const ext = findExtension(registry, p.name, p.scope);
    if (ext === undefined) {
      problems.push(`${where()}: ${p.where}: unknown option (${p.name})${p.name.startsWith('buf.validate') ? '' : '; import the file that declares it'}`);
      continue;
    }
    if (ext.extendee.typeName !== p.target.$typeName) {
      problems.push(`${where()}: ${p.where}: option (${p.name}) extends ${ext.extendee.typeName}, not ${p.target.$typeName}`);
      continue;
    }
    try {
      setExtension(p.target, ext, extensionValue(ext, p.value, registry) as never);
    } catch (err) {
      problems.push(`${where()}: ${p.where}: option (${p.name}): ${(err as Error).message}`);
    }
  }
  return problems;
}

/** protobuf scoping: `name` relative to `scope` and each enclosing scope, or absolute with a leading dot. */
function findExtension(registry: Registry, name: string, scope: string): DescExtension | undefined {
  if (name.startsWith('.')) return registry.getExtension(name.slice(1));
  const parts = scope === '' ? [] : scope.split('.');
  for (let i = parts.length; i >= 0; i--) {
    const candidate = [...parts.slice(0, i), name].join('.');
    const ext = registry.getExtension(candidate);
    if (ext !== undefined) return ext;
  }
  return undefined;
}

function extensionValue(ext: DescExtension, value: unknown, registry: Registry): unknown {
  switch (ext.fieldKind) {
    case 'message':
      return fromJson(ext.message, textFormatToJson(ext.message, value), { registry });
    case 'enum':
      return enumValue(ext.enum, value);
    case 'scalar':
      return scalarValue(ext.scalar, value);
    case 'list': {
      const items = Array.isArray(value) ? value : [value];
      if (ext.listKind === 'message') return items.map((v) => fromJson(ext.message, textFormatToJson(ext.message, v), { registry }));
      if (ext.listKind === 'enum') return items.map((v) => enumValue(ext.enum, v));
      return items.map((v) => scalarValue(ext.scalar, v));
    }
  }
}

/**
 * protobufjs gives option aggregates as written; text format lets a repeated field be set
 * one value at a time (`(x).tags = "a"`), JSON wants a list: wrap such values, recursively.
 */
function textFormatToJson(desc: DescMessage, value: unknown): JsonValue {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value as JsonValue;
  const out: Record<string, JsonValue> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = desc.fields.find((f) => f.name === key || f.jsonName === key);
    if (field === undefined) {
      out[key] = v as JsonValue; // fromJson names the unknown field
      continue;
    }
    if (field.fieldKind === 'list') {
      const items = Array.isArray(v) ? v : [v];
      out[key] = field.listKind === 'message' ? items.map((i) => textFormatToJson(field.message, i)) : (items as JsonValue[]);
    } else if (field.fieldKind === 'message') out[key] = textFormatToJson(field.message, v);
    else out[key] = v as JsonValue;
  }
  return out;
}

function enumValue(e: DescEnum, value: unknown): number {
  if (typeof value === 'number') return value;
  const v = e.values.find((x) => x.name === value);
  if (v === undefined) throw new Error(`${JSON.stringify(value)} is not a value of ${e.typeName}`);
  return v.number;
}

function scalarValue(scalar: ScalarType, value: unknown): unknown {
  switch (scalar) {
    case ScalarType.STRING:
      return String(value);
    case ScalarType.BYTES:
      return new TextEncoder().encode(String(value));
    case ScalarType.BOOL:
      if (typeof value !== 'boolean') throw new Error(`expected true or false, got ${JSON.stringify(value)}`);
      return value;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return protoInt64.parse(value as string | number);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return protoInt64.uParse(value as string | number);
    default:
      if (typeof value !== 'number') throw new Error(`expected a number, got ${JSON.stringify(value)}`);
      return value;
  }
}
