// Loads policy files (DESIGN §4): files and folders → YAML documents → the one schema
// (schema.ts) → validated, frozen documents, or every problem as
// `FILE:LINE:COL: /path: message`. A set with any problem is invalid as a whole.
// CONTROL path (startup, reload, CLI). The YAML/zod error machinery is config/load.ts's.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isScalar, LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { output, ZodType } from 'zod';
import { deepFreeze, problemLine, validateDocument } from '../config/load.js';
import { didYouMean } from '../config/issue-message.js';
import { offsetOfPath } from '../config/yaml-source.js';
import { compilePolicies, type PolicySnapshot } from './compile.js';
import { policySchema, type PolicyDocument, type PolicyEntry } from './schema.js';

/** One policy file as read: the version of a snapshot is a hash of the texts. */
export interface PolicySource {
  /** The file name as given or as found in a folder (messages use it as is). */
  readonly file: string;
  readonly text: string;
}

/** One YAML document of a file, validated. */
export interface ParsedDocument<T> {
  readonly file: string;
  /** 0-based index of the document in its file (empty documents count too). */
  readonly index: number;
  readonly value: T;
  /** `FILE:LINE:COL` of the node at `path` (a path inside this document). */
  locate(path: readonly PropertyKey[]): string;
  /** A problem line for the node at `path`: `FILE:LINE:COL: /path: message`. */
  problem(path: readonly PropertyKey[], message: string, opts?: { key?: boolean }): string;
}

export type LoadedPolicy = ParsedDocument<PolicyDocument>;

export interface LoadOptions {
  /**
   * JWT provider names of the sidecar config (`jwt.providers[].name`). When given, a
   * policy naming any other provider is invalid; when omitted, provider names are not checked.
   */
  readonly providers?: readonly string[];
  /**
   * Checks that need more than the policy files (message validation: the descriptors of
   * catalog.protos); called with the documents that passed the schema.
   */
  readonly moreProblems?: (policies: readonly LoadedPolicy[]) => readonly string[];
}

export type LoadResult =
  | { readonly ok: true; readonly sources: readonly PolicySource[]; readonly policies: readonly LoadedPolicy[] }
  | { readonly ok: false; readonly sources: readonly PolicySource[]; readonly problems: readonly string[] };

const YAML_FILE = /\.ya?ml$/;

/**
 * The policy files named by `paths`, in order: a file as given; a folder's `*.yaml` and
 * `*.yml` files sorted by name, NOT recursively (so `policies/tests/` and `policies/schema/`
 * beside the policies are not read), skipping names that start with "." (Kubernetes
 * ConfigMap mounts keep `..data` links there). A file named twice is read once.
 */
export function listPolicyFiles(paths: readonly string[]): { files: string[]; problems: string[] } {
  const files: string[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    const key = resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    files.push(file);
  };
  for (const path of paths) {
    try {
      if (!statSync(path).isDirectory()) {
        add(path);
        continue;
      }
      const names = readdirSync(path)
        .filter((name) => YAML_FILE.test(name) && !name.startsWith('.'))
        .sort();
      for (const name of names) {
        const file = join(path, name);
        if (statSync(file).isFile()) add(file);
      }
    } catch (err) {
      problems.push(`${path}: cannot read: ${(err as Error).message}`);
    }
  }
  return { files, problems };
}

/** Reads the files named by `paths` (see listPolicyFiles). */
export function readPolicySources(paths: readonly string[]): { sources: PolicySource[]; problems: string[] } {
  const { files, problems } = listPolicyFiles(paths);
  const sources: PolicySource[] = [];
  for (const file of files) {
    try {
      sources.push({ file, text: readFileSync(file, 'utf8') });
    } catch (err) {
      problems.push(`${file}: cannot read: ${(err as Error).message}`);
    }
  }
  return { sources, problems };
}

/** Reads and validates the policy files and folders named by `paths`. */
export function loadPolicySources(paths: readonly string[], options: LoadOptions = {}): LoadResult {
  const read = readPolicySources(paths);
  const parsed = parsePolicySources(read.sources, options);
  if (read.problems.length === 0) return parsed;
  const problems = [...read.problems, ...(parsed.ok ? [] : parsed.problems)];
  return { ok: false, sources: read.sources, problems: Object.freeze(problems) };
}

/**
 * Loads, validates and compiles: the one call the sidecar (startup, reload) and the CLI
 * make. On success the snapshot is ready to publish; on failure keep the previous one.
 */
export function loadPolicySnapshot(
  paths: readonly string[],
  options: LoadOptions = {},
): { readonly ok: true; readonly snapshot: PolicySnapshot } | { readonly ok: false; readonly problems: readonly string[] } {
  const loaded = loadPolicySources(paths, options);
  if (!loaded.ok) return loaded;
  return { ok: true, snapshot: compilePolicies(loaded) };
}

/** Validates policy texts already in memory (tests, or a watcher that read the files itself). */
export function parsePolicySources(sources: readonly PolicySource[], options: LoadOptions = {}): LoadResult {
  const problems: string[] = [];
  const policies: LoadedPolicy[] = [];
  for (const source of sources) {
    const result = parseYamlDocuments(source, policySchema, 'a Policy document');
    policies.push(...result.documents);
    problems.push(...result.problems.map((p) => p.text));
  }
  // Only documents that passed the schema take part; their problems follow the files' own.
  problems.push(...crossDocumentProblems(policies, options));
  if (options.moreProblems !== undefined) problems.push(...options.moreProblems(policies));
  if (problems.length > 0) return { ok: false, sources, problems: Object.freeze(problems) };
  return { ok: true, sources: Object.freeze([...sources]), policies: Object.freeze(policies) };
}

/**
 * Every YAML document of `source` validated by `schema` (shared by policy files and
 * policy test files). Empty documents (a lone `---`, only comments) are skipped. Problems
 * are sorted by position; paths in them are relative to their document.
 */
export function parseYamlDocuments<S extends ZodType>(
  source: PolicySource,
  schema: S,
  what: string,
): { documents: ParsedDocument<output<S>>[]; problems: { offset: number; text: string }[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const documents: ParsedDocument<output<S>>[] = [];
  const problems: { offset: number; text: string }[] = [];
  docs.forEach((doc, index) => {
    if (isEmptyDocument(doc)) return;
    const result = validateDocument(doc, lineCounter, source.file, schema, { empty: `expected ${what}, got an empty document` });
    if (!result.ok) {
      problems.push(...result.problems);
      return;
    }
    const offset = (path: readonly PropertyKey[], key = false): number => offsetOfPath(doc, path, { key });
    documents.push({
      file: source.file,
      index,
      value: deepFreeze(result.value),
      locate: (path) => {
        const { line, col } = lineCounter.linePos(offset(path));
        return `${source.file}:${line}:${col}`;
      },
      problem: (path, message, opts) => problemLine(source.file, lineCounter, offset(path, opts?.key), path, message),
    });
  });
  // A stream without documents carries its own errors (e.g. a bad directive).
  if ('empty' in docs) {
    for (const e of [...docs.errors, ...docs.warnings]) {
      problems.push({ offset: e.pos[0], text: problemLine(source.file, lineCounter, e.pos[0], [], `invalid YAML: ${e.message}`) });
    }
  }
  problems.sort((a, b) => a.offset - b.offset);
  return { documents, problems };
}

function isEmptyDocument(doc: Document): boolean {
  if (doc.errors.length > 0 || doc.warnings.length > 0) return false;
  const c = doc.contents;
  return c === null || (isScalar(c) && c.value === null && c.source === '');
}

/** Checks that need every document: unique names, known JWT providers. */
function crossDocumentProblems(policies: readonly LoadedPolicy[], options: LoadOptions): string[] {
  const problems: string[] = [];
  const names = new Map<string, LoadedPolicy>();
  const providers = options.providers === undefined ? undefined : new Set(options.providers);
  for (const policy of policies) {
    const name = policy.value.metadata.name;
    const first = names.get(name);
    if (first === undefined) names.set(name, policy);
    else {
      const at = first.locate(['metadata', 'name']);
      problems.push(policy.problem(['metadata', 'name'], `duplicate policy name ${JSON.stringify(name)} (first defined at ${at})`));
    }
    if (providers === undefined) continue;
    forEachEntry(policy.value, (entry, path) => {
      const provider = entry.jwt?.provider;
      if (provider === undefined || providers.has(provider)) return;
      const known = [...providers];
      const hint = didYouMean(provider, known);
      const list = known.length === 0 ? 'the sidecar config defines no JWT providers' : `known: ${known.join(', ')}`;
      problems.push(
        policy.problem(
          [...path, 'jwt', 'provider'],
          `unknown JWT provider ${JSON.stringify(provider)}${hint === undefined ? '' : ` (did you mean ${JSON.stringify(hint)}?)`}; ${list}`,
        ),
      );
    });
  }
  return problems;
}

/** Calls `visit` for every allow/deny entry of the document, with its path. */
export function forEachEntry(policy: PolicyDocument, visit: (entry: PolicyEntry, path: readonly PropertyKey[]) => void): void {
  const lists = (base: readonly PropertyKey[], owner: { allow?: readonly PolicyEntry[]; deny?: readonly PolicyEntry[] }) => {
    for (const list of ['deny', 'allow'] as const) owner[list]?.forEach((entry, j) => visit(entry, [...base, list, j]));
  };
  policy.spec.grpc.forEach((rule, i) => lists(['spec', 'grpc', i], rule));
  policy.spec.graphql.forEach((rule, i) => {
    lists(['spec', 'graphql', i], rule);
    if (rule.introspection !== undefined) lists(['spec', 'graphql', i, 'introspection'], rule.introspection);
    rule.fields?.forEach((field, k) => lists(['spec', 'graphql', i, 'fields', k], field));
  });
}
