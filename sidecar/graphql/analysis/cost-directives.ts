// The IBM GraphQL cost directives (https://ibm.github.io/graphql-specs/cost-spec.html):
// their SDL, added to a schema that does not declare them, and readers for their uses in
// schema AST nodes. CONTROL path (schema load); weights are checked here, once.
import type { ConstDirectiveNode, ConstValueNode, DocumentNode, ASTNode } from 'graphql';
import { Kind, parse, valueFromASTUntyped } from 'graphql';

/** `weight` is a String in the spec (so "2.5" keeps its precision); Int/Float declarations also read. */
const COST_SDL =
  'directive @cost(weight: String!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR';
const LIST_SIZE_SDL =
  'directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION';

/** A problem found in the schema file, already formatted "FILE:LINE:COL: message". */
export type ProblemSink = (node: ASTNode | undefined, message: string) => void;

/** The SDL document plus the declarations of @cost and @listSize it does not declare itself. */
export function withCostDirectives(doc: DocumentNode): DocumentNode {
  const declared = new Set<string>();
  for (const d of doc.definitions) if (d.kind === Kind.DIRECTIVE_DEFINITION) declared.add(d.name.value);
  const extra: string[] = [];
  if (!declared.has('cost')) extra.push(COST_SDL);
  if (!declared.has('listSize')) extra.push(LIST_SIZE_SDL);
  if (extra.length === 0) return doc;
  return { ...doc, definitions: [...doc.definitions, ...parse(extra.join('\n'), { noLocation: true }).definitions] };
}

interface WithDirectives {
  readonly directives?: readonly ConstDirectiveNode[] | undefined;
}

function findDirective(nodes: readonly (WithDirectives | null | undefined)[], name: string): ConstDirectiveNode | undefined {
  for (const node of nodes) {
    for (const d of node?.directives ?? []) if (d.name.value === name) return d;
  }
  return undefined;
}

function argValue(d: ConstDirectiveNode, name: string): ConstValueNode | undefined {
  return d.arguments?.find((a) => a.name.value === name)?.value;
}

/**
 * The @cost weight on any of `nodes` (a definition and its extensions), or undefined.
 * A weight must be a finite number >= 0: a negative weight would let a query buy budget back.
 */
export function readCostWeight(nodes: readonly (WithDirectives | null | undefined)[], report: ProblemSink): number | undefined {
  const d = findDirective(nodes, 'cost');
  if (d === undefined) return undefined;
  const node = argValue(d, 'weight');
  const raw: unknown = node === undefined ? undefined : valueFromASTUntyped(node);
  const weight = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : typeof raw === 'number' ? raw : NaN;
  if (!Number.isFinite(weight) || weight < 0) {
    report(d, '@cost weight must be a number >= 0 (e.g. "2.5")');
    return undefined;
  }
  return weight;
}

/** @listSize as written, before its names are checked against the field (schema-info.ts). */
export interface RawListSize {
  readonly node: ConstDirectiveNode;
  readonly assumedSize: number | undefined;
  readonly slicingArguments: readonly string[];
  readonly sizedFields: readonly string[];
  readonly requireOneSlicingArgument: boolean;
}

function stringList(v: unknown): string[] {
  if (typeof v === 'string') return [v]; // input coercion: a single item stands for a list of one
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

export function readListSize(node: WithDirectives | null | undefined, report: ProblemSink): RawListSize | undefined {
  const d = findDirective([node], 'listSize');
  if (d === undefined) return undefined;
  const value = (name: string): unknown => {
    const v = argValue(d, name);
    return v === undefined ? undefined : valueFromASTUntyped(v);
  };
  const assumed = value('assumedSize');
  let assumedSize: number | undefined;
  if (assumed !== undefined && assumed !== null) {
    if (typeof assumed === 'number' && Number.isInteger(assumed) && assumed >= 0) assumedSize = assumed;
    else report(d, '@listSize assumedSize must be an integer >= 0');
  }
  return {
    node: d,
    assumedSize,
    slicingArguments: stringList(value('slicingArguments')),
    sizedFields: stringList(value('sizedFields')),
    requireOneSlicingArgument: value('requireOneSlicingArgument') !== false,
  };
}
