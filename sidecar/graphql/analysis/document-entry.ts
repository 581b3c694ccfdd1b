// What the cache holds per document text: its token count, and either a failure (parse or
// validation, both independent of the caller's limits) or its operations, each analyzed
// once on first request. The whole document is validated on the miss, as graphql-js does,
// so the outcome never depends on which operation was asked for first. DATA path (miss).
import type { DocumentNode, FragmentDefinitionNode, OperationDefinitionNode } from 'graphql';
import { Kind } from 'graphql';
import { quoteName, validationFailure, type AnalysisFailure } from './failures.js';
import { Operation, type OperationAnalysis } from './operation-analysis.js';
import type { SchemaInfo } from './schema-info.js';
import { SelectionWalker, type WalkSummary } from './selection-walk.js';

export type AnalysisResult = { readonly ok: true; readonly op: OperationAnalysis } | { readonly ok: false; readonly failure: AnalysisFailure };

export interface OperationSlot {
  def: OperationDefinitionNode | undefined;
  sum: WalkSummary | undefined;
  result: AnalysisResult | undefined;
}

export interface DocumentEntry {
  /** Tokens of the document; for a parse failure, tokens read before it (a lower bound). */
  readonly tokens: number;
  readonly failure: { readonly ok: false; readonly failure: AnalysisFailure } | undefined;
  readonly named: ReadonlyMap<string, OperationSlot>;
  /** The operation when it is the only one (what a request without operationName gets). */
  readonly only: OperationSlot | undefined;
  readonly operations: number;
}

export function failedEntry(tokens: number, failure: AnalysisFailure): DocumentEntry {
  return { tokens, failure: { ok: false, failure }, named: new Map(), only: undefined, operations: 0 };
}

/** Document-level rules (graphql-js ExecutableDefinitions, UniqueOperationNames, LoneAnonymousOperation, UniqueFragmentNames), then every operation walked. */
export function analyzeDocument(doc: DocumentNode, tokens: number, schema: SchemaInfo | undefined, defaultListSize: number): DocumentEntry {
  const ops: OperationDefinitionNode[] = [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  const named = new Map<string, OperationSlot>();
  let anonymous = 0;
  let error: string | undefined;
  for (const d of doc.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION) {
      ops.push(d);
      const name = d.name?.value;
      if (name === undefined) anonymous++;
      else if (named.has(name)) error ??= `There can be only one operation named ${quoteName(name)}.`;
      else named.set(name, { def: d, sum: undefined, result: undefined });
    } else if (d.kind === Kind.FRAGMENT_DEFINITION) {
      if (fragments.has(d.name.value)) error ??= `There can be only one fragment named ${quoteName(d.name.value)}.`;
      fragments.set(d.name.value, d);
    } else {
      error ??= 'The document may contain only operations and fragments.';
    }
  }
  if (anonymous > 0 && ops.length > 1) error ??= 'An anonymous operation must be the only operation of the document.';
  if (ops.length === 0) error ??= 'The document contains no operation.';
  if (error !== undefined) return failedEntry(tokens, validationFailure(error));

  const walker = new SelectionWalker(schema, fragments, defaultListSize);
  const slots = ops.map((op) => named.get(op.name?.value ?? '') ?? { def: op, sum: undefined, result: undefined });
  for (const slot of slots) {
    slot.sum = walker.operation(slot.def!);
    if (walker.error !== undefined) return failedEntry(tokens, validationFailure(walker.error));
  }
  for (const name of fragments.keys()) {
    if (!walker.memo.has(name)) return failedEntry(tokens, validationFailure(`Fragment ${quoteName(name)} is never used.`));
  }
  return { tokens, failure: undefined, named, only: slots.length === 1 ? slots[0] : undefined, operations: slots.length };
}

/** The analysis of a slot, made on first request; the AST and walk summary are then dropped. */
export function slotResult(slot: OperationSlot, tokens: number, schemaless: boolean): AnalysisResult {
  if (slot.result === undefined) {
    slot.result = { ok: true, op: new Operation(slot.def!, slot.sum!, tokens, schemaless) };
    slot.def = undefined;
    slot.sum = undefined;
  }
  return slot.result;
}
