// Checks and small computations the selection walk makes at one node: directives, variable
// definitions, arguments and their @cost weights, @listSize plans, type overlap. Each
// returns an error message (short, no suggestions) or a value. DATA path (cache miss).
import type { ArgumentNode, ConstDirectiveNode, DirectiveNode, FieldNode, TypeNode, ValueNode, VariableDefinitionNode } from 'graphql';
import { Kind, valueFromASTUntyped } from 'graphql';
import { INVALID_SIZE, MAX_COST, sliceValue, type ListPlan, type SliceSource } from './cost-tree.js';
import { quoteName } from './failures.js';
import type { CompositeInfo, FieldInfo, SchemaInfo } from './schema-info.js';

const capAdd = (a: number, b: number): number => Math.min(a + b, MAX_COST);

/** Counts directive uses into `sum`; with a schema, each must be known, allowed here, with known arguments. */
export function checkDirectives(
  schema: SchemaInfo | undefined,
  directives: readonly (DirectiveNode | ConstDirectiveNode)[] | undefined,
  location: string,
  sum: { directives: number; variables: Set<string> | undefined },
): string | undefined {
  if (directives === undefined || directives.length === 0) return undefined;
  for (const d of directives) {
    sum.directives = capAdd(sum.directives, 1);
    if (d.arguments !== undefined && d.arguments.length > 0) sum.variables = collectVariables(d.arguments, sum.variables);
    if (schema === undefined) continue;
    const def = schema.directives.get(d.name.value);
    if (def === undefined) return `Unknown directive ${quoteName(`@${d.name.value}`)}.`;
    if (!def.locations.has(location)) return `Directive "@${d.name.value}" may not be used on ${location}.`;
    for (const a of d.arguments ?? []) if (!def.args.has(a.name.value)) return `Unknown argument ${quoteName(a.name.value)} on directive "@${d.name.value}".`;
  }
  return undefined;
}

/** Variable names used anywhere in these argument values, added to `into`. */
export function collectVariables(args: readonly ArgumentNode[], into: Set<string> | undefined): Set<string> | undefined {
  for (const a of args) into = valueVariables(a.value, into);
  return into;
}

function valueVariables(v: ValueNode, into: Set<string> | undefined): Set<string> | undefined {
  if (v.kind === Kind.VARIABLE) (into ??= new Set()).add(v.name.value);
  else if (v.kind === Kind.LIST) for (const item of v.values) into = valueVariables(item, into);
  else if (v.kind === Kind.OBJECT) for (const f of v.fields) into = valueVariables(f.value, into);
  return into;
}

function namedType(t: TypeNode): string {
  return t.kind === Kind.NAMED_TYPE ? t.name.value : namedType(t.type);
}

/** Variable types must be known input types; fills `defined` with the variable names. */
export function checkVariableDefinitions(
  schema: SchemaInfo | undefined,
  defs: readonly VariableDefinitionNode[] | undefined,
  defined: Set<string>,
  sum: { directives: number; variables: Set<string> | undefined },
): string | undefined {
  for (const def of defs ?? []) {
    defined.add(def.variable.name.value);
    const err = checkDirectives(schema, def.directives, 'VARIABLE_DEFINITION', sum);
    if (err !== undefined) return err;
    if (schema === undefined) continue;
    const type = namedType(def.type);
    const kind = schema.kinds.get(type);
    if (kind === undefined) return `Unknown type ${quoteName(type)}.`;
    if (kind !== 'scalar' && kind !== 'enum' && kind !== 'input') return `Variable ${quoteName(`$${def.variable.name.value}`)} cannot be of non-input type "${type}".`;
  }
  return undefined;
}

/** Default values of an operation's variables (for slicing arguments read at cost() time). */
export function variableDefaults(defs: readonly VariableDefinitionNode[] | undefined): Map<string, unknown> | undefined {
  let out: Map<string, unknown> | undefined;
  for (const def of defs ?? []) {
    if (def.defaultValue !== undefined) (out ??= new Map()).set(def.variable.name.value, valueFromASTUntyped(def.defaultValue));
  }
  return out;
}

/** Field weight + weights of the arguments written (and of input fields written as literals); or an error. */
export function fieldBase(schema: SchemaInfo, info: FieldInfo, node: FieldNode): number | string {
  let base = info.weight;
  for (const a of node.arguments ?? []) {
    const arg = info.args.get(a.name.value);
    if (arg === undefined) return `Unknown argument ${quoteName(a.name.value)} on field "${info.coordinate}".`;
    base = capAdd(base, arg.weight);
    if (schema.weightedInputs.has(arg.inputType)) base = capAdd(base, inputWeight(schema, a.value, arg.inputType));
  }
  return base;
}

/** @cost weights of the input fields written in a literal value (variables are not inspected). */
function inputWeight(schema: SchemaInfo, v: ValueNode, type: string): number {
  if (v.kind === Kind.LIST) return v.values.reduce((n, item) => capAdd(n, inputWeight(schema, item, type)), 0);
  const fields = schema.weightedInputs.get(type);
  if (v.kind !== Kind.OBJECT || fields === undefined) return 0;
  let total = 0;
  for (const f of v.fields) {
    const [weight, inner] = fields.get(f.name.value) ?? [0, ''];
    total = capAdd(capAdd(total, weight), inputWeight(schema, f.value, inner));
  }
  return total;
}

/**
 * Where the list size of this field comes from: each @listSize slicing argument as a literal,
 * a variable (read at cost() time) or the schema default when omitted; else assumedSize, else
 * the analyzer's default. An explicit null is "not given". Or an error: a literal that is not
 * an integer >= 0, or — with requireOneSlicingArgument (the spec's default) — not exactly one
 * slicing argument written (IBM cost spec §4.2.3).
 */
export function listPlan(info: FieldInfo, node: FieldNode, defaultListSize: number): ListPlan | string {
  const sources: SliceSource[] = [];
  const slicing = info.listSize?.slicing ?? [];
  let written = 0;
  for (const s of slicing) {
    let v: ValueNode | undefined = node.arguments?.find((a) => a.name.value === s.arg)?.value;
    if (v === undefined) {
      if (s.schemaDefault !== undefined) sources.push({ constant: s.schemaDefault });
      continue;
    }
    for (let i = 0; v !== undefined; i++) {
      if (v.kind === Kind.VARIABLE) {
        sources.push({ variable: v.name.value, path: s.rest.slice(i), fallback: s.schemaDefault });
        written++;
        break;
      }
      if (i === s.rest.length) {
        const n = v.kind === Kind.INT || v.kind === Kind.FLOAT ? sliceValue(Number(v.value)) : -1;
        if (n === INVALID_SIZE) return `Slicing argument ${quoteName([s.arg, ...s.rest].join('.'))} of "${info.coordinate}" must be an integer >= 0.`;
        if (n >= 0) sources.push({ constant: n });
        if (v.kind !== Kind.NULL) written++;
        break;
      }
      const key = s.rest[i];
      v = v.kind === Kind.OBJECT ? v.fields.find((f) => f.name.value === key)?.value : undefined;
    }
  }
  if (info.listSize?.requireOneSlicingArgument === true && slicing.length > 0 && written !== 1) {
    return `Field "${info.coordinate}" needs exactly one of its slicing arguments (${slicing.map((s) => [s.arg, ...s.rest].join('.')).join(', ')}).`;
  }
  return { sources, otherwise: info.listSize?.assumedSize ?? defaultListSize };
}

/** Can a value be of both types? (graphql-js PossibleFragmentSpreads.) */
export function overlaps(a: CompositeInfo, b: CompositeInfo): boolean {
  if (a === b) return true;
  const [small, large] = a.possible.size <= b.possible.size ? [a.possible, b.possible] : [b.possible, a.possible];
  for (const name of small) if (large.has(name)) return true;
  return false;
}
