// The one walk over an operation: depth, aliases, root fields, directives, field coordinates,
// introspection, the cost tree, and validation against the schema, in a single pass.
// Each fragment is walked once and its summary reused at every spread (memoized), so a
// fragment spread N times costs N merges, not N walks; a spread of a fragment still being
// walked is a cycle and an error, never a hang. DATA path (runs on a cache miss).
import type { FieldNode, FragmentDefinitionNode, OperationDefinitionNode, SelectionSetNode } from 'graphql';
import { Kind } from 'graphql';
import { fieldCost, fragmentCost, MAX_COST, type CostItem, type FragmentCost } from './cost-tree.js';
import { quoteName } from './failures.js';
import type { CompositeInfo, SchemaInfo } from './schema-info.js';
import { checkDirectives, checkVariableDefinitions, collectVariables, fieldBase, listPlan, overlaps } from './walk-checks.js';

/** What a walk found: for an operation, or for a fragment relative to its own root. */
export interface WalkSummary {
  depth: number;
  aliases: number;
  rootFields: number;
  directives: number;
  introspection: boolean;
  /** Coordinate -> first response path (relative to the fragment for fragment summaries). */
  readonly fields: Map<string, string>;
  variables: Set<string> | undefined;
  readonly cost: FragmentCost;
  done: boolean;
}

/** Without a schema, coordinates are recorded for the root types under their default names only. */
const SCHEMALESS_ROOTS: Readonly<Record<string, string>> = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' };
const ROOT_NAMES = new Set(Object.values(SCHEMALESS_ROOTS));

/** Fields, inline fragments and fragments nested deeper than this fail validation (stack safety). */
export const MAX_NESTING = 1000;

const capAdd = (a: number, b: number): number => Math.min(a + b, MAX_COST);
/** Leaves have no children: one shared (never written) array. */
const NO_CHILDREN: CostItem[] = [];

function summary(): WalkSummary {
  return { depth: 0, aliases: 0, rootFields: 0, directives: 0, introspection: false, fields: new Map(), variables: undefined, cost: fragmentCost(), done: false };
}

function record(fields: Map<string, string>, coordinate: string, path: string): void {
  if (!fields.has(coordinate)) fields.set(coordinate, path);
}

const joinPath = (path: string, name: string): string => (path === '' ? name : `${path}.${name}`);

export class SelectionWalker {
  /** The first validation error; once set, the walk unwinds and its results are meaningless. */
  error: string | undefined = undefined;
  /** Fragment name -> summary, shared by all the operations of the document. */
  readonly memo = new Map<string, WalkSummary>();
  private nesting = 0;

  constructor(
    private readonly schema: SchemaInfo | undefined,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly defaultListSize: number,
  ) {}

  operation(op: OperationDefinitionNode): WalkSummary | undefined {
    const sum = summary();
    const root = this.schema?.roots[op.operation];
    if (this.schema !== undefined && root === undefined) {
      this.error = `The schema has no ${op.operation} type.`;
      return undefined;
    }
    this.error ??= checkDirectives(this.schema, op.directives, op.operation.toUpperCase(), sum);
    const defined = new Set<string>();
    this.error ??= checkVariableDefinitions(this.schema, op.variableDefinitions, defined, sum);
    if (this.error !== undefined) return undefined;
    this.selections(op.selectionSet, root, root === undefined ? SCHEMALESS_ROOTS[op.operation] : undefined, 1, '', sum, sum.cost.items);
    for (const v of sum.variables ?? []) if (!defined.has(v)) this.error ??= `Variable ${quoteName(`$${v}`)} is not defined.`;
    if (this.error !== undefined) return undefined;
    sum.cost.dynamic = sum.cost.items.some((i) => i.dynamic);
    sum.done = true;
    return sum;
  }

  /** `parentName`: without a schema, the type name when known (root or type condition). */
  private selections(
    set: SelectionSetNode,
    parent: CompositeInfo | undefined,
    parentName: string | undefined,
    level: number,
    path: string,
    sum: WalkSummary,
    out: CostItem[],
  ): void {
    if (++this.nesting > MAX_NESTING) this.error ??= 'The document nests too deeply.';
    for (const sel of set.selections) {
      if (this.error !== undefined) break;
      if (sel.kind === Kind.FIELD) {
        this.field(sel, parent, parentName, level, path, sum, out);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        this.error ??= checkDirectives(this.schema, sel.directives, 'INLINE_FRAGMENT', sum);
        const cond = sel.typeCondition?.name.value;
        const type = cond === undefined || this.schema === undefined ? parent : this.condition(cond, parent);
        if (this.error === undefined) this.selections(sel.selectionSet, type, cond ?? parentName, level, path, sum, out);
      } else {
        this.error ??= checkDirectives(this.schema, sel.directives, 'FRAGMENT_SPREAD', sum);
        const frag = this.error === undefined ? this.fragment(sel.name.value) : undefined;
        if (frag === undefined) break;
        if (parent !== undefined) this.condition(this.fragments.get(sel.name.value)!.typeCondition.name.value, parent);
        this.merge(frag, level, path, sum, out);
      }
    }
    this.nesting--;
  }

  private field(node: FieldNode, parent: CompositeInfo | undefined, parentName: string | undefined, level: number, path: string, sum: WalkSummary, out: CostItem[]): void {
    const name = node.name.value;
    this.error ??= checkDirectives(this.schema, node.directives, 'FIELD', sum);
    if (node.alias !== undefined) sum.aliases = capAdd(sum.aliases, 1);
    if (level === 1) sum.rootFields = capAdd(sum.rootFields, 1);
    if (level > sum.depth) sum.depth = level;
    if (node.arguments !== undefined && node.arguments.length > 0) sum.variables = collectVariables(node.arguments, sum.variables);
    if (name === '__typename') {
      // Meta field: valid on every composite type, touches no coordinate, costs nothing.
      if (node.selectionSet !== undefined || (node.arguments?.length ?? 0) > 0) this.error ??= 'Field "__typename" takes no arguments and no subfields.';
      return;
    }
    if (name === '__schema' || name === '__type') sum.introspection = true;
    // The path string is made only when a child or a new coordinate needs it.
    let fieldPath = node.selectionSet === undefined ? undefined : joinPath(path, name);
    const children: CostItem[] = node.selectionSet === undefined ? NO_CHILDREN : [];
    if (this.schema === undefined) {
      if (parentName !== undefined && ROOT_NAMES.has(parentName)) record(sum.fields, `${parentName}.${name}`, (fieldPath ??= joinPath(path, name)));
      if (fieldPath !== undefined && node.selectionSet !== undefined) this.selections(node.selectionSet, undefined, undefined, level + 1, fieldPath, sum, children);
      const base = parentName === 'Mutation' ? 10 : 0;
      out.push(fieldCost(name, base, node.selectionSet === undefined ? 0 : 1, false, undefined, undefined, children));
      return;
    }
    // With a schema every selection has a parent type (a failed condition stops the walk);
    // should one not, fail closed rather than walk on without coordinates.
    const info = parent?.fields.get(name);
    if (parent === undefined) this.error ??= 'The document cannot be analyzed.';
    if (info === undefined || parent === undefined) {
      // Written here, without graphql-js's "Did you mean" suggestions (they leak the schema).
      this.error ??= `Cannot query field ${quoteName(name)} on type "${parent?.name}".`;
      return;
    }
    const base = fieldBase(this.schema, info, node);
    if (typeof base === 'string') {
      this.error ??= base;
      return;
    }
    if (info.composite !== undefined && node.selectionSet === undefined) this.error ??= `Field "${info.coordinate}" must have a selection of subfields.`;
    if (info.composite === undefined && node.selectionSet !== undefined) this.error ??= `Field "${info.coordinate}" must not have a selection since it returns a leaf type.`;
    if (!sum.fields.has(info.coordinate)) sum.fields.set(info.coordinate, (fieldPath ??= joinPath(path, name)));
    for (const r of info.related) if (!sum.fields.has(r)) sum.fields.set(r, (fieldPath ??= joinPath(path, name)));
    if (fieldPath !== undefined && node.selectionSet !== undefined && this.error === undefined) this.selections(node.selectionSet, info.composite, undefined, level + 1, fieldPath, sum, children);
    const sizedFields = info.listSize?.sizedFields;
    const plan = info.list || sizedFields !== undefined ? listPlan(info, node, this.defaultListSize) : undefined;
    if (typeof plan === 'string') {
      this.error ??= plan;
      return;
    }
    out.push(fieldCost(name, base, info.typeWeight, info.list, plan, sizedFields, children));
  }

  /** A type condition: known, composite, and able to apply where it is used. */
  private condition(name: string, parent: CompositeInfo | undefined): CompositeInfo | undefined {
    const type = this.schema!.composites.get(name);
    if (type === undefined) {
      this.error ??= this.schema!.kinds.has(name) ? `Fragment cannot condition on non composite type ${quoteName(name)}.` : `Unknown type ${quoteName(name)}.`;
      return undefined;
    }
    if (parent !== undefined && !overlaps(parent, type)) this.error ??= `A fragment on "${type.name}" can never apply to "${parent.name}".`;
    return type;
  }

  /** The memoized summary of a fragment, walked on first use; undefined (and an error) on a cycle. */
  fragment(name: string): WalkSummary | undefined {
    const known = this.memo.get(name);
    if (known !== undefined) {
      if (!known.done) this.error ??= `Cannot spread fragment ${quoteName(name)} within itself.`;
      return known.done ? known : undefined;
    }
    const def = this.fragments.get(name);
    if (def === undefined) {
      this.error ??= `Unknown fragment ${quoteName(name)}.`;
      return undefined;
    }
    const sum = summary();
    this.memo.set(name, sum);
    this.error ??= checkDirectives(this.schema, def.directives, 'FRAGMENT_DEFINITION', sum);
    const cond = def.typeCondition.name.value;
    const type = this.schema === undefined ? undefined : this.condition(cond, undefined);
    if (this.error === undefined) this.selections(def.selectionSet, type, cond, 1, '', sum, sum.cost.items);
    if (this.error !== undefined) return undefined;
    sum.cost.dynamic = sum.cost.items.some((i) => i.dynamic);
    sum.done = true;
    return sum;
  }

  /** Adds a fragment's summary at a spread: counts expanded, paths prefixed, cost node shared. */
  private merge(frag: WalkSummary, level: number, path: string, sum: WalkSummary, out: CostItem[]): void {
    if (frag.depth > 0 && level - 1 + frag.depth > sum.depth) sum.depth = level - 1 + frag.depth;
    sum.aliases = capAdd(sum.aliases, frag.aliases);
    sum.directives = capAdd(sum.directives, frag.directives);
    if (level === 1) sum.rootFields = capAdd(sum.rootFields, frag.rootFields);
    if (frag.introspection) sum.introspection = true;
    for (const [coordinate, rel] of frag.fields) if (!sum.fields.has(coordinate)) sum.fields.set(coordinate, path === '' ? rel : `${path}.${rel}`);
    if (frag.variables !== undefined) {
      sum.variables ??= new Set();
      for (const v of frag.variables) sum.variables.add(v);
    }
    out.push(frag.cost);
  }
}
