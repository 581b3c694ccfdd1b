// Loads the sidecar config file (DESIGN §3): YAML text → the one schema (schema.ts) →
// a deep-frozen SidecarConfig, or a ConfigError listing every problem as
// `FILE:LINE:COL: /json/pointer: what was expected`. CONTROL path (startup and reload).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import type { output, ZodType } from 'zod';
import { issueMessage } from './issue-message.js';
import { createSidecarConfigSchema, type SidecarConfig } from './schema.js';
import { offsetOfPath, pathAtOffset } from './yaml-source.js';

/** An invalid config: `problems` holds one line per problem, `message` all of them. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}

/** Reads, parses and validates the config file; throws ConfigError. */
export function loadConfig(file: string): SidecarConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // No line or column to name; the prefix is still `FILE:`.
    throw new ConfigError([`${file}: cannot read the config file: ${(err as Error).message}`]);
  }
  return parseConfig(text, file);
}

// YAML errors after which the document tree is still whole, so schema problems are
// reported too; after any other (syntax) error they would be noise.
const TREE_INTACT = new Set(['DUPLICATE_KEY', 'MULTIPLE_DOCS']);

/**
 * Parses and validates config text. `file` names the file in messages; relative paths
 * resolve against its folder.
 */
export function parseConfig(text: string, file: string): SidecarConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const schema = createSidecarConfigSchema(dirname(resolve(file)));
  const result = validateDocument(doc, lineCounter, file, schema, {
    empty: 'expected a map with apiVersion, kind, identity and inbound, got an empty document',
  });
  if (result.ok) return deepFreeze(result.value);
  throw new ConfigError(result.problems.map((p) => p.text));
}

/** One problem placed in its file: `offset` orders problems, `text` is the whole line. */
export interface SourceProblem {
  readonly offset: number;
  readonly text: string;
}

export type DocumentResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly SourceProblem[] };

/** `FILE:LINE:COL: /json/pointer: message` for the node at `offset` (from `lineCounter`). */
export function problemLine(
  file: string,
  lineCounter: LineCounter,
  offset: number,
  path: readonly PropertyKey[],
  message: string,
): string {
  const { line, col } = lineCounter.linePos(offset);
  return `${file}:${line}:${col}: ${jsonPointer(path)}: ${message}`;
}

/**
 * Validates one parsed YAML document against `schema`: YAML errors and warnings, aliases
 * without anchors, then schema issues, every problem as `FILE:LINE:COL: /path: message`
 * in source order. `doc` comes from parseDocument or parseAllDocuments (paths are then per
 * document, offsets per stream) with `lineCounter` passed to the parser. Also used for
 * policy files (policy/load.ts). `empty` words the problem of a document with no content.
 */
export function validateDocument<S extends ZodType>(
  doc: Document,
  lineCounter: LineCounter,
  file: string,
  schema: S,
  opts: { empty: string },
): DocumentResult<output<S>> {
  const problems: { offset: number; order: number; text: string }[] = [];
  const report = (offset: number, path: readonly PropertyKey[], message: string): void => {
    problems.push({ offset, order: problems.length, text: problemLine(file, lineCounter, offset, path, message) });
  };
  const fail = (): DocumentResult<output<S>> => {
    problems.sort((a, b) => a.offset - b.offset || a.order - b.order);
    return { ok: false, problems: problems.map(({ offset, text }) => ({ offset, text })) };
  };

  // Warnings too (e.g. an unknown tag such as `!env`): a config should not mean something
  // other than what its author thought.
  for (const e of [...doc.errors, ...doc.warnings]) report(e.pos[0], pathAtOffset(doc, e.pos[0]), yamlMessage(e));
  let treeIntact = doc.errors.every((e) => TREE_INTACT.has(e.code));
  visit(doc, {
    Alias(_key, alias) {
      if (alias.resolve(doc) !== undefined) return;
      const offset = alias.range?.[0] ?? 0;
      report(offset, pathAtOffset(doc, offset), `alias *${alias.source} has no anchor &${alias.source} before it`);
      treeIntact = false; // toJS() would throw
    },
  });
  if (!treeIntact) return fail();
  if (doc.contents === null) {
    report(0, [], opts.empty);
    return fail();
  }

  let value: unknown;
  try {
    value = toJS(doc);
  } catch (err) {
    report(0, [], `invalid YAML: ${(err as Error).message}`); // e.g. too many aliases ("billion laughs")
    return fail();
  }

  const result = schema.safeParse(value, { error: issueMessage, reportInput: true });
  if (result.success && problems.length === 0) return { ok: true, value: result.data };

  for (const issue of result.error?.issues ?? []) {
    if (issue.code === 'unrecognized_keys') {
      // issueMessage words one line per key, in `keys` order.
      const lines = issue.message.split('\n');
      issue.keys.forEach((key, i) => {
        const path = [...issue.path, key];
        report(offsetOfPath(doc, path, { key: true }), path, lines[i] ?? `unknown key ${JSON.stringify(key)}`);
      });
    } else {
      report(offsetOfPath(doc, issue.path), issue.path, issue.message);
    }
  }
  return fail();
}

function toJS(doc: Document): unknown {
  return doc.toJS({ maxAliasCount: 100 });
}

function yamlMessage(e: YAMLError): string {
  switch (e.code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key';
    case 'MULTIPLE_DOCS':
      return 'expected a single YAML document, found a second one ("---")';
    case 'TAG_RESOLVE_FAILED':
      return `unsupported YAML tag ${e.message.replace(/^Unresolved tag: /, '')}`;
    default:
      return `invalid YAML: ${e.message}`;
  }
}

/** RFC 6901 pointer; the root is written "/" so the message never has an empty field. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '/';
  return path.map((seg) => '/' + String(seg).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** Freezes `value` and everything reachable from it (plain objects and arrays). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
