// Reads and builds a GraphQL schema file (CONTROL path): the SDL of inbound.graphql.schemaFile
// → an analyzer for it, or the problems with file:line:col. The schema store (watch, reload)
// and `meshward policy explain --graphql` (one shot) both read schemas through it.

import { readFileSync } from 'node:fs';
import { GraphqlAnalyzer } from './analysis/analyze.js';
import { buildSchemaInfo } from './analysis/schema-info.js';
import { SchemaLoadError } from './schema-load-error.js';

/** A built schema (with the text it came from), its problems, or why the file could not be read. */
export type SchemaFileResult = { ok: true; analyzer: GraphqlAnalyzer; text: string } | { ok: false; problems: readonly string[] } | string;

/** `previous`: the text last built; the same text again is 'unchanged' (nothing is rebuilt). */
export function readSchemaFile(file: string, previous?: string): SchemaFileResult | 'unchanged' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return `${file}: cannot read the GraphQL schema: ${(err as Error).message}`;
  }
  if (text === previous) return 'unchanged';
  const built = buildSchemaInfo(text, file);
  if (!built.ok) return { ok: false, problems: built.problems };
  return { ok: true, analyzer: new GraphqlAnalyzer({ schema: built.info }), text };
}

/** The analyzer for a schema file (none: schema-less analysis); throws SchemaLoadError when it is invalid. */
export function loadSchemaAnalyzer(file: string | undefined): GraphqlAnalyzer {
  if (file === undefined) return new GraphqlAnalyzer({ schema: undefined });
  const loaded = readSchemaFile(file);
  if (typeof loaded === 'string') throw new SchemaLoadError([loaded]);
  if (!loaded.ok) throw new SchemaLoadError(loaded.problems);
  return loaded.analyzer;
}
