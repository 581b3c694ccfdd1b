// Shared harness for the analysis tests (no tests of its own): the shop schema from
// testdata/shop.graphql, and helpers that expect an analysis or a failure.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GraphqlAnalyzer, type AnalysisFailure, type OperationAnalysis } from './analyze.js';
import { buildSchemaInfo, type SchemaInfo } from './schema-info.js';

export const SHOP_SDL = readFileSync(new URL('./testdata/shop.graphql', import.meta.url), 'utf8');

let shop: SchemaInfo | undefined;
export function shopSchema(): SchemaInfo {
  if (shop === undefined) {
    const r = buildSchemaInfo(SHOP_SDL, 'shop.graphql');
    if (!r.ok) throw new Error(r.problems.join('\n'));
    shop = r.info;
  }
  return shop;
}

export function shopAnalyzer(opts: { cacheEntries?: number; defaultListSize?: number } = {}): GraphqlAnalyzer {
  return new GraphqlAnalyzer({ schema: shopSchema(), ...opts });
}

export const BIG_CAP = 100_000;

/** Analyzes with a fresh shop analyzer (or `analyzer`), asserting success. */
export function analysis(query: string, operationName?: string | null, analyzer: GraphqlAnalyzer = shopAnalyzer()): OperationAnalysis {
  const r = analyzer.analyze(query, operationName, BIG_CAP);
  if (!r.ok) assert.fail(`expected an analysis, got ${r.failure.code}: ${r.failure.message}`);
  return r.op;
}

export function failure(query: string, operationName?: string | null, analyzer: GraphqlAnalyzer = shopAnalyzer(), maxTokens = BIG_CAP): AnalysisFailure {
  const r = analyzer.analyze(query, operationName, maxTokens);
  if (r.ok) assert.fail('expected a failure, got an analysis');
  return r.failure;
}

export function schemaless(): GraphqlAnalyzer {
  return new GraphqlAnalyzer({ schema: undefined });
}
