// Loads the sidecar config file (DESIGN §3): YAML text → the one schema (schema.ts) →
// a deep-frozen SidecarConfig, or a ConfigError listing every problem as
// `FILE:LINE:COL: /json/pointer: what was expected`. CONTROL path (startup and reload).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
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
  const problems: { offset: number; order: number; text: string }[] = [];
  const report = (offset: number, path: readonly PropertyKey[], message: string): void => {
    const { line, col } = lineCounter.linePos(offset);
    problems.push({ offset, order: problems.length, text: `${file}:${line}:${col}: ${jsonPointer(path)}: ${message}` });
  };
  const fail = (): never => {
    problems.sort((a, b) => a.offset - b.offset || a.order - b.order);
    throw new ConfigError(problems.map((p) => p.text));
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
  if (!treeIntact) fail();
  if (doc.contents === null) {
    report(0, [], 'expected a map with apiVersion, kind, identity and inbound, got an empty document');
    fail();
  }

  let value: unknown;
  try {
    value = toJS(doc);
  } catch (err) {
    report(0, [], `invalid YAML: ${(err as Error).message}`); // e.g. too many aliases ("billion laughs")
    fail();
  }

  const schema = createSidecarConfigSchema(dirname(resolve(file)));
  const result = schema.safeParse(value, { error: issueMessage, reportInput: true });
  if (result.success && problems.length === 0) return deepFreeze(result.data);

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
function jsonPointer(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '/';
  return path.map((seg) => '/' + String(seg).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
