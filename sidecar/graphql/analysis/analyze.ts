// GraphQL document analysis for the guard: parse under a token cap, validate, choose the
// operation, and measure it in one memoized walk; results cached per document text.
// DATA path: pure and synchronous, no I/O. Build one analyzer per schema (re)load.
//
// Cost follows the IBM GraphQL cost directives (https://ibm.github.io/graphql-specs/cost-spec.html):
//   cost(field) = field weight + weights of the arguments written
//               + size × (type weight + Σ cost(children))
//   field weight  @cost on the field definition, default 0; root mutation fields default 10
//   arguments     @cost on each argument definition written in the query (literal or variable),
//                 plus @cost on input fields written inside literal input objects (not inside
//                 variable values)
//   type weight   @cost on the returned object/scalar/enum type; default 1 for object,
//                 interface and union types, 0 for scalars and enums
//   size          list fields: the largest value of the @listSize slicingArguments written
//                 (literal, or the variable's value at cost() time; an absent variable falls
//                 back to its default value, then to the argument's schema default; an
//                 omitted argument uses its schema default; `filter.max` paths are followed),
//                 else assumedSize, else `defaultListSize` (10); at least 1 (a field asked for
//                 0 items is still resolved). Non-list fields: 1. A slicing value must be an
//                 integer >= 0: a literal that is not fails validation, a variable that is not
//                 prices the operation at the cap.
//   requireOneSlicingArgument (default true, as in the spec) exactly one slicing argument
//                 must be written, else the document fails validation; a variable that turns
//                 out null or absent then counts as not given (assumedSize, else the default).
//   sizedFields   a field with @listSize(sizedFields: [...]) passes its size to those direct
//                 children (connections: `edges`, `nodes`) instead of using it itself.
//   Fields under interfaces/unions are summed over every inline fragment (an upper bound);
//   __typename costs 0; every sum and product is capped at Number.MAX_SAFE_INTEGER.
// Without a schema: weights are the defaults (fields with subfields 1, leaves 0, fields of a
// root type named Mutation 10) and no field is a list.
//
// Validation (own walk, no graphql-js validate(): validate() with no rule at all already
// costs more than this whole analysis): document rules (executable definitions, unique
// operation/fragment names, lone anonymous operation, unused fragments), known fields,
// arguments, types, fragments, directives and their locations, fragment cycles, fragments on
// composite and possible types, leaf selections, variables defined and of input types.
// Left to the server: argument value types, required arguments, variable positions,
// overlapping fields (quadratic in graphql-js), uniqueness of arguments/variables/directives.
//
// Conservative choices: fields under @include/@skip count as touched and costed whatever the
// condition. A field selected on an interface also records the coordinate on every type
// implementing it, and a field of an object type the coordinate on each interface declaring
// it, so a rule on `User.email` or on `Account.email` sees `email` selected either way.
import { documentKey, LruCache } from './analysis-cache.js';
import { analyzeDocument, failedEntry, slotResult, type AnalysisResult, type DocumentEntry } from './document-entry.js';
import { OPERATION_NAME_REQUIRED, OPERATION_NOT_FOUND, tokensFailure } from './failures.js';
import { parseDocument } from './parse-document.js';
import type { SchemaInfo } from './schema-info.js';

export type { AnalysisFailure, AnalysisFailureCode } from './failures.js';
export type { OperationAnalysis, OperationType } from './operation-analysis.js';
export type { AnalysisResult } from './document-entry.js';

export interface GraphqlAnalyzerOptions {
  /** undefined: schemaless (syntax, fragments, operation choice; root coordinates only). */
  readonly schema: SchemaInfo | undefined;
  /** Documents kept (LRU); default 1000. 0 disables the cache. */
  readonly cacheEntries?: number;
  /** List size when no slicing argument or assumedSize says; default 10. */
  readonly defaultListSize?: number;
}

const REQUIRED = { ok: false, failure: OPERATION_NAME_REQUIRED } as const;
const NOT_FOUND = { ok: false, failure: OPERATION_NOT_FOUND } as const;

export class GraphqlAnalyzer {
  private readonly cache: LruCache<DocumentEntry>;
  private readonly schema: SchemaInfo | undefined;
  private readonly defaultListSize: number;
  private hits = 0;
  private misses = 0;

  constructor(opts: GraphqlAnalyzerOptions) {
    this.schema = opts.schema;
    this.cache = new LruCache(opts.cacheEntries ?? 1000);
    this.defaultListSize = opts.defaultListSize ?? 10;
  }

  /**
   * `operationName` chooses among several operations (null/undefined: the document must
   * have exactly one). `maxTokens` is checked on every call, cached or not.
   */
  analyze(query: string, operationName: string | undefined | null, maxTokens: number): AnalysisResult {
    const cap = maxTokens >= 0 ? maxTokens : 0; // NaN fails closed
    const key = documentKey(query);
    let entry = key === undefined ? undefined : this.cache.get(key);
    if (entry !== undefined) this.hits++;
    else {
      this.misses++;
      const parsed = parseDocument(query, cap);
      if (!parsed.ok && parsed.tokenLimited) return { ok: false, failure: parsed.failure }; // depends on the cap: not cached
      entry = parsed.ok ? analyzeDocument(parsed.doc, parsed.tokens, this.schema, this.defaultListSize) : failedEntry(parsed.tokens, parsed.failure);
      if (key !== undefined) this.cache.set(key, entry);
    }
    if (entry.tokens > cap) return { ok: false, failure: tokensFailure(cap, entry.failure === undefined || entry.failure.failure.code !== 'GRAPHQL_PARSE_FAILED' ? entry.tokens : undefined) };
    if (entry.failure !== undefined) return entry.failure;
    const slot = operationName === undefined || operationName === null ? entry.only : entry.named.get(operationName);
    if (slot === undefined) return operationName === undefined || operationName === null ? REQUIRED : NOT_FOUND;
    return slotResult(slot, entry.tokens, this.schema === undefined);
  }

  stats(): { hits: number; misses: number; entries: number } {
    return { hits: this.hits, misses: this.misses, entries: this.cache.size };
  }
}
