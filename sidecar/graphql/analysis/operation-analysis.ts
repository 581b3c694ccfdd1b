// The analysis of one operation, as the guard reads it: counts, field coordinates, and
// cost(variables), which is a constant when no slicing argument reads a variable and
// otherwise a memoized walk of the cost tree without allocation. DATA path.
import type { OperationDefinitionNode } from 'graphql';
import { selectionCost, type CostInput, type CostItem } from './cost-tree.js';
import type { WalkSummary } from './selection-walk.js';
import { variableDefaults } from './walk-checks.js';

export type OperationType = 'query' | 'mutation' | 'subscription';

export interface OperationAnalysis {
  readonly name: string | undefined;
  readonly type: OperationType;
  /** Lexical tokens of the whole document (graphql-js's count for maxTokens). */
  readonly tokens: number;
  /** Deepest field nesting, fragments expanded: `{ a }` = 1, `{ a { b } }` = 2; every field counts. */
  readonly depth: number;
  /** Aliased field selections, fragments expanded (a fragment spread twice counts twice). */
  readonly aliases: number;
  /** Field selections at the operation root, fragments expanded. */
  readonly rootFields: number;
  /** Directive uses, fragments expanded. */
  readonly directives: number;
  /** IBM cost with these variables (see analyze.ts header); capped at Number.MAX_SAFE_INTEGER. */
  cost(variables: Readonly<Record<string, unknown>> | undefined): number;
  /** "Type.field" -> first response path touching it ("User.email" -> "user.email"), field names not aliases. */
  readonly fields: ReadonlyMap<string, string>;
  /** Selects __schema or __type anywhere (__typename is not introspection). */
  readonly introspection: boolean;
  /** Analyzed without a schema: only root coordinates ("Query.x", "Mutation.x") are known. */
  readonly schemaless: boolean;
}

/** One reusable input for every dynamic cost() call: cost() is synchronous, so this is safe. */
const input: { variables: Readonly<Record<string, unknown>> | undefined; defaults: ReadonlyMap<string, unknown> | undefined; call: number } = {
  variables: undefined,
  defaults: undefined,
  call: 0,
};
const constantInput: CostInput = { variables: undefined, defaults: undefined, call: 0 };

export class Operation implements OperationAnalysis {
  readonly name: string | undefined;
  readonly type: OperationType;
  readonly depth: number;
  readonly aliases: number;
  readonly rootFields: number;
  readonly directives: number;
  readonly fields: ReadonlyMap<string, string>;
  readonly introspection: boolean;
  /** The cost when it does not depend on variables; else -1 and the tree is kept. */
  private readonly constant: number;
  private readonly items: readonly CostItem[] | undefined;
  private readonly defaults: ReadonlyMap<string, unknown> | undefined;

  constructor(
    def: OperationDefinitionNode,
    sum: WalkSummary,
    readonly tokens: number,
    readonly schemaless: boolean,
  ) {
    this.name = def.name?.value;
    this.type = def.operation as OperationType;
    this.depth = sum.depth;
    this.aliases = sum.aliases;
    this.rootFields = sum.rootFields;
    this.directives = sum.directives;
    this.fields = sum.fields;
    this.introspection = sum.introspection;
    if (sum.cost.dynamic) {
      this.constant = -1;
      this.items = sum.cost.items;
      this.defaults = variableDefaults(def.variableDefinitions);
    } else {
      this.constant = selectionCost(sum.cost.items, constantInput);
      this.items = undefined;
      this.defaults = undefined;
    }
  }

  cost(variables: Readonly<Record<string, unknown>> | undefined): number {
    if (this.items === undefined) return this.constant;
    input.variables = variables;
    input.defaults = this.defaults;
    input.call++;
    const total = selectionCost(this.items, input);
    input.variables = undefined;
    return total;
  }
}
