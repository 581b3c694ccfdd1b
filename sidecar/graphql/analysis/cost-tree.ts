// The cost tree of an operation (IBM cost spec, see analyze.ts header for the formula):
// built once by the walk, evaluated by cost(variables). Fragments are shared nodes, so the
// tree is a DAG; evaluation memoizes them per call, allocates nothing, and caps every sum
// and product at Number.MAX_SAFE_INTEGER (no Infinity, no NaN). DATA path.
//
// A list size is never 0 and never a discount: a slicing value must be an integer >= 0, and
// one that is not (`first: -1` makes many apps return every row) prices the whole operation
// at the cap; 0 counts as 1, because the field is still resolved (and an app may read 0 as
// "no limit"). Literal values are checked when the document is walked (walk-checks.ts).

export const MAX_COST = Number.MAX_SAFE_INTEGER;

const add = (a: number, b: number): number => Math.min(a + b, MAX_COST);
const mul = (a: number, b: number): number => Math.min(a * b, MAX_COST);

/** Where one slicing argument's value comes from, decided when the document is walked. */
export type SliceSource =
  | { readonly constant: number }
  /** A variable, at `path` inside its value; `fallback` when the variable and its default are absent. */
  | { readonly variable: string; readonly path: readonly string[]; readonly fallback: number | undefined };

export interface ListPlan {
  readonly sources: readonly SliceSource[];
  /** assumedSize, else the analyzer's default list size: used when no source gives a number. */
  readonly otherwise: number;
}

export interface FieldCost {
  readonly kind: 'field';
  readonly name: string;
  /** Field weight plus the weights of the arguments (and literal input fields) written. */
  readonly base: number;
  readonly typeWeight: number;
  readonly list: boolean;
  /** How many items; for a list field, and for a field with sizedFields (applied to those children). */
  plan: ListPlan | undefined;
  readonly sizedFields: ReadonlySet<string> | undefined;
  /** Plan and children are dropped once a constant node is folded into its memo. */
  children: readonly CostItem[];
  /** Does a slicing argument here or below read a variable? If not, the memo holds for good. */
  readonly dynamic: boolean;
  // Memo: this field's size and inner cost (type weight + children) for call `memoCall`.
  memoCall: number;
  memoSize: number;
  memoInner: number;
}

export interface FragmentCost {
  readonly kind: 'fragment';
  readonly items: CostItem[];
  dynamic: boolean;
  // Memo, per sized-fields set S: the fragment costs A + s × B where s is the sizer's size.
  // One slot for "no S" and one for the last S seen (S comes from the schema: few distinct).
  memoCall: number;
  memoA: number;
  memoSetCall: number;
  memoSet: ReadonlySet<string> | undefined;
  memoSetA: number;
  memoSetB: number;
}

export type CostItem = FieldCost | FragmentCost;

export function fragmentCost(): FragmentCost {
  return { kind: 'fragment', items: [], dynamic: false, memoCall: -1, memoA: 0, memoSetCall: -1, memoSet: undefined, memoSetA: 0, memoSetB: 0 };
}

const NO_ITEMS: readonly CostItem[] = Object.freeze([]);
const CONSTANT: CostInput = { variables: undefined, defaults: undefined, call: 0 };

/**
 * A field's cost node. When nothing below reads a variable, its size and inner cost are
 * computed now and its children dropped, so a cached analysis keeps only the nodes that
 * cost(variables) really has to visit.
 */
export function fieldCost(
  name: string,
  base: number,
  typeWeight: number,
  list: boolean,
  plan: ListPlan | undefined,
  sizedFields: ReadonlySet<string> | undefined,
  children: readonly CostItem[],
): FieldCost {
  let dynamic = isDynamic(plan);
  for (let i = 0; i < children.length && !dynamic; i++) dynamic = children[i]!.dynamic;
  const f: FieldCost = { kind: 'field', name, base, typeWeight, list, plan, sizedFields, children, dynamic, memoCall: -1, memoSize: 0, memoInner: 0 };
  if (dynamic) return f;
  refresh(f, CONSTANT);
  f.plan = undefined;
  f.children = NO_ITEMS;
  return f;
}

export function isDynamic(plan: ListPlan | undefined): boolean {
  return plan !== undefined && plan.sources.some((s) => 'variable' in s);
}

/** Variables of one cost() call; `defaults` are the operation's variable defaults. */
export interface CostInput {
  readonly variables: Readonly<Record<string, unknown>> | undefined;
  readonly defaults: ReadonlyMap<string, unknown> | undefined;
  /** A number unique to this cost() call (>= 0), keys the memos. */
  readonly call: number;
}

function at(value: unknown, path: readonly string[]): unknown {
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A slicing value that is a number but not an integer >= 0 (negative, fractional, not finite). */
export const INVALID_SIZE = -2;
const NOT_GIVEN = -1;

/** A slicing value: an integer >= 0 (capped); INVALID_SIZE for other numbers; NOT_GIVEN for null, strings, objects. */
export function sliceValue(v: unknown): number {
  if (typeof v !== 'number') return NOT_GIVEN;
  return Number.isInteger(v) && v >= 0 ? Math.min(v, MAX_COST) : INVALID_SIZE;
}

/**
 * The largest slicing value given (literal, variable, variable default, schema default), else
 * `otherwise`; at least 1. INVALID_SIZE when a variable holds a number that is not a size.
 */
export function listSize(plan: ListPlan, input: CostInput): number {
  let size = NOT_GIVEN;
  for (const s of plan.sources) {
    let n: number;
    if ('constant' in s) n = s.constant;
    else {
      // own properties only: `$constructor` must not read Object.prototype.constructor
      const vars = input.variables;
      let v = vars !== undefined && vars !== null && Object.hasOwn(vars, s.variable) ? vars[s.variable] : undefined;
      if (v === undefined) v = input.defaults?.get(s.variable);
      n = v === undefined ? NOT_GIVEN : sliceValue(at(v, s.path));
      if (n === INVALID_SIZE) return INVALID_SIZE;
      if (n === NOT_GIVEN && s.fallback !== undefined) n = s.fallback;
    }
    if (n > size) size = n;
  }
  return Math.max(size === NOT_GIVEN ? plan.otherwise : size, 1);
}

/** B of the last itemsCost() call (returned beside A without allocating). */
let lastB = 0;

/**
 * Cost of a selection as A + s × B: A for everything but the fields named in `sized`
 * (and their `base`), B for the inner cost of those, which the sizer counts s times.
 */
function itemsCost(items: readonly CostItem[], sized: ReadonlySet<string> | undefined, input: CostInput): number {
  let a = 0;
  let b = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (item.kind === 'fragment') {
      a = add(a, fragmentCostOf(item, sized, input));
      b = add(b, lastB);
    } else if (sized !== undefined && sized.has(item.name)) {
      a = add(a, item.base);
      b = add(b, inner(item, input));
    } else {
      a = add(a, add(item.base, mul(item.list ? sizeOfField(item, input) : 1, inner(item, input))));
    }
  }
  lastB = b;
  return a;
}

function fragmentCostOf(f: FragmentCost, sized: ReadonlySet<string> | undefined, input: CostInput): number {
  const call = f.dynamic ? input.call : 0;
  if (sized === undefined) {
    if (f.memoCall !== call) {
      f.memoA = itemsCost(f.items, undefined, input);
      f.memoCall = call;
    }
    lastB = 0;
    return f.memoA;
  }
  if (f.memoSetCall !== call || f.memoSet !== sized) {
    f.memoSetA = itemsCost(f.items, sized, input);
    f.memoSetB = lastB;
    f.memoSetCall = call;
    f.memoSet = sized;
  }
  lastB = f.memoSetB;
  return f.memoSetA;
}

function refresh(f: FieldCost, input: CostInput): void {
  const call = f.dynamic ? input.call : 0;
  if (f.memoCall === call) return;
  const size = f.plan === undefined ? 1 : listSize(f.plan, input);
  f.memoCall = call;
  if (size === INVALID_SIZE) {
    // Whatever the app makes of it, the operation is priced at the cap (and so refused).
    f.memoSize = MAX_COST;
    f.memoInner = MAX_COST;
    return;
  }
  let children = 0;
  if (f.children.length > 0) {
    const a = itemsCost(f.children, f.sizedFields, input);
    children = add(a, mul(size, lastB));
  }
  f.memoSize = size;
  f.memoInner = add(f.typeWeight, children);
}

function sizeOfField(f: FieldCost, input: CostInput): number {
  refresh(f, input);
  return f.memoSize;
}

/** Type weight + children, the part a list multiplies. */
function inner(f: FieldCost, input: CostInput): number {
  refresh(f, input);
  return f.memoInner;
}

/** The cost of an operation's root selection: field weight + argument weights + size × (type weight + children), summed. */
export function selectionCost(items: readonly CostItem[], input: CostInput): number {
  return itemsCost(items, undefined, input);
}
