// Small text helpers of the .proto converter (CONTROL path): protobufjs's flat option keys,
// protoc's naming rules (json_name, map entries), ranges, default values, and problem lines
// (`PATH:LINE: message`) for errors protobufjs reports without a place.

import type { ProtoFile } from './proto-sources.js';

const MAX_FIELD_NUMBER = 536_870_911;

/** `a.b` and `(x.y).c` keys of protobufjs's flat options → nested objects. */
export function unflatten(flat: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (flat === undefined || flat === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const head = key.startsWith('(') ? key.slice(0, key.indexOf(')') + 1) : key.split('.')[0]!;
    const rest = key.slice(head.length).replace(/^\./, '');
    if (rest === '') {
      out[head] = value;
      continue;
    }
    let node = (out[head] ??= {}) as Record<string, unknown>;
    const parts = rest.split('.');
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else node = (node[part] ??= {}) as Record<string, unknown>;
    });
  }
  return out;
}

/** protoc's default json_name: `item_counts` → `itemCounts` (protoc writes it for every field). */
export function jsonName(field: string): string {
  return field.replace(/_+([^_])?/g, (_m, c: string | undefined) => (c === undefined ? '' : c.toUpperCase()));
}

/** protoc's map-entry name: `order_items` → `OrderItemsEntry`. */
export function mapEntryName(field: string): string {
  return field.replace(/(?:^|_)([a-z0-9])/g, (_m, c: string) => c.toUpperCase()).replace(/_/g, '') + 'Entry';
}

export function rangeEnd(inclusiveEnd: number | string): number {
  // protobufjs stores ranges inclusive ("max" as 536870911); descriptors exclusive.
  return (inclusiveEnd === 'max' ? MAX_FIELD_NUMBER : Number(inclusiveEnd)) + 1;
}

export function defaultText(value: unknown): string {
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (typeof value === 'number' && Number.isNaN(value)) return 'nan';
  return String(value);
}

/** `illegal token 'x' (a.proto, line 3)` → `PATH:3: illegal token 'x'`. */
export function parseProblem(file: ProtoFile, err: Error): string {
  const m = /^(.*) \((?:[^,]*, )?line (\d+)\)$/.exec(err.message);
  if (m !== null) return `${file.path}:${m[2]}: ${m[1]}`;
  // protobufjs fails with a TypeError when the text ends inside a block.
  if (err instanceof TypeError) return `${file.path}: unexpected end of file (is a "{" not closed?)`;
  return `${file.path}: ${err.message}`;
}

/** `PATH:LINE`, or `PATH` when the line is unknown. */
export function at(file: { readonly path: string }, line: number | undefined): string {
  return line === undefined ? file.path : `${file.path}:${line}`;
}

/** 1-based line of the first match of `re` in `text`, if any. */
export function lineOf(text: string, re: RegExp): number | undefined {
  const m = re.exec(text);
  if (m === null) return undefined;
  let line = 1;
  for (let i = 0; i < m.index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
