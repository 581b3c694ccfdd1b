// Builds a SchemaInfo from SDL: the graphql-js schema plus flat tables the data-path walk
// reads (fields per type with their coordinates, cost weights and @listSize plans, possible
// types, directives). CONTROL path: run once per schema (re)load, never per request.
import type { GraphQLField, GraphQLNamedType, GraphQLSchema, DocumentNode, GraphQLError } from 'graphql';
import {
  buildASTSchema,
  getNamedType,
  getNullableType,
  isAbstractType,
  isInputObjectType,
  isEnumType,
  isInterfaceType,
  isListType,
  isObjectType,
  isUnionType,
  parse,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  validateSchema,
} from 'graphql';
import { validateSDL } from 'graphql/validation/validate.js';
import { readCostWeight, readListSize, withCostDirectives, type ProblemSink, type RawListSize } from './cost-directives.js';

export type TypeKind = 'object' | 'interface' | 'union' | 'scalar' | 'enum' | 'input';

/** One slicing argument of @listSize: `first`, or a path into an input object `filter.max`. */
export interface SlicingArgument {
  readonly arg: string;
  readonly rest: readonly string[];
  /** The argument's schema default at that path, when numeric: used when the query omits it. */
  readonly schemaDefault: number | undefined;
}

export interface ListSizeInfo {
  readonly slicing: readonly SlicingArgument[];
  readonly assumedSize: number | undefined;
  /** Direct child fields the size applies to (connections: `edges`, `nodes`); undefined if none. */
  readonly sizedFields: ReadonlySet<string> | undefined;
  /** Exactly one slicing argument must be written (walk-checks.ts listPlan). */
  readonly requireOneSlicingArgument: boolean;
}

export interface ArgInfo {
  readonly weight: number;
  /** Named input type, to add @cost weights of input fields written as literals. */
  readonly inputType: string;
}

export interface FieldInfo {
  readonly name: string;
  /** "Type.field" */
  readonly coordinate: string;
  /** Coordinates touched with this one: the field on every implementation when the type is abstract, and on every interface of the type that declares it. */
  readonly related: readonly string[];
  /** The named return type when it is an object, interface or union. */
  readonly composite: CompositeInfo | undefined;
  readonly list: boolean;
  /** @cost on the field; default 10 on root mutation fields, else 0. */
  readonly weight: number;
  /** @cost on the return type; default 1 for composite types, 0 for scalars and enums. */
  readonly typeWeight: number;
  readonly args: ReadonlyMap<string, ArgInfo>;
  readonly listSize: ListSizeInfo | undefined;
}

export interface CompositeInfo {
  readonly name: string;
  readonly kind: 'object' | 'interface' | 'union';
  readonly fields: ReadonlyMap<string, FieldInfo>;
  /** Names of the object types a value of this type can be (itself for an object type). */
  readonly possible: ReadonlySet<string>;
}

export interface DirectiveInfo {
  readonly locations: ReadonlySet<string>;
  readonly args: ReadonlySet<string>;
}

export interface SchemaInfo {
  readonly schema: GraphQLSchema;
  readonly file: string;
  readonly kinds: ReadonlyMap<string, TypeKind>;
  readonly composites: ReadonlyMap<string, CompositeInfo>;
  readonly roots: { readonly query: CompositeInfo | undefined; readonly mutation: CompositeInfo | undefined; readonly subscription: CompositeInfo | undefined };
  readonly directives: ReadonlyMap<string, DirectiveInfo>;
  /** Input object type -> field -> [@cost weight, named type]; only types that carry a weight somewhere inside. */
  readonly weightedInputs: ReadonlyMap<string, ReadonlyMap<string, readonly [number, string]>>;
}

export type SchemaResult = { readonly ok: true; readonly info: SchemaInfo } | { readonly ok: false; readonly problems: readonly string[] };

interface MutableComposite extends CompositeInfo {
  readonly fields: Map<string, FieldInfo>;
}

function kindOf(t: GraphQLNamedType): TypeKind {
  if (isObjectType(t)) return 'object';
  if (isInterfaceType(t)) return 'interface';
  if (isUnionType(t)) return 'union';
  if (isInputObjectType(t)) return 'input';
  return isEnumType(t) ? 'enum' : 'scalar';
}

function errorProblems(file: string, errors: readonly GraphQLError[]): string[] {
  return errors.map((e) => {
    const at = e.locations?.[0];
    return `${file}:${at?.line ?? 1}:${at?.column ?? 1}: ${e.message}`;
  });
}

export function buildSchemaInfo(sdl: string, file: string): SchemaResult {
  let doc: DocumentNode;
  try {
    doc = withCostDirectives(parse(sdl));
  } catch (err) {
    return { ok: false, problems: errorProblems(file, [err as GraphQLError]) };
  }
  const sdlErrors = validateSDL(doc);
  if (sdlErrors.length > 0) return { ok: false, problems: errorProblems(file, sdlErrors) };
  const schema = buildASTSchema(doc, { assumeValidSDL: true });
  const schemaErrors = validateSchema(schema);
  if (schemaErrors.length > 0) return { ok: false, problems: errorProblems(file, schemaErrors) };
  const problems: string[] = [];
  const report: ProblemSink = (node, message) => {
    const at = node?.loc?.startToken;
    problems.push(`${file}:${at?.line ?? 1}:${at?.column ?? 1}: ${message}`);
  };
  const info = compileSchema(schema, file, report);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, info };
}

function compileSchema(schema: GraphQLSchema, file: string, report: ProblemSink): SchemaInfo {
  const kinds = new Map<string, TypeKind>();
  const composites = new Map<string, MutableComposite>();
  const typeWeights = new Map<string, number>();
  for (const t of Object.values(schema.getTypeMap())) {
    const kind = kindOf(t);
    kinds.set(t.name, kind);
    const weight = kind === 'object' || kind === 'scalar' || kind === 'enum' ? readCostWeight([t.astNode, ...t.extensionASTNodes], report) : undefined;
    typeWeights.set(t.name, weight ?? (kind === 'object' || kind === 'interface' || kind === 'union' ? 1 : 0));
    if (kind === 'object' || kind === 'interface' || kind === 'union') {
      const possible = isAbstractType(t) ? schema.getPossibleTypes(t).map((p) => p.name) : [t.name];
      composites.set(t.name, { name: t.name, kind, fields: new Map(), possible: new Set(possible) });
    }
  }
  const mutation = schema.getMutationType()?.name;
  for (const t of Object.values(schema.getTypeMap())) {
    if (!isObjectType(t) && !isInterfaceType(t)) continue;
    const owner = composites.get(t.name)!;
    // Types whose same-named field is touched along with this one (see FieldInfo.related).
    const relatives = [...t.getInterfaces(), ...(isInterfaceType(t) ? [...schema.getImplementations(t).objects, ...schema.getImplementations(t).interfaces] : [])];
    for (const field of Object.values(t.getFields())) {
      const related = relatives.filter((r) => field.name in r.getFields()).map((r) => `${r.name}.${field.name}`);
      const fallbackWeight = t.name === mutation ? 10 : 0;
      owner.fields.set(field.name, fieldInfo(t.name, field, related, fallbackWeight, composites, typeWeights, report));
    }
  }
  const query = composites.get(schema.getQueryType()?.name ?? '');
  if (query !== undefined) {
    // Introspection entry points exist only on the query root (graphql-js TypeInfo does the same).
    for (const meta of [SchemaMetaFieldDef, TypeMetaFieldDef]) {
      query.fields.set(meta.name, fieldInfo(query.name, meta, [], 0, composites, typeWeights, report));
    }
  }
  const directives = new Map<string, DirectiveInfo>();
  for (const d of schema.getDirectives()) {
    directives.set(d.name, { locations: new Set(d.locations), args: new Set(d.args.map((a) => a.name)) });
  }
  return {
    schema,
    file,
    kinds,
    composites,
    roots: { query, mutation: composites.get(mutation ?? ''), subscription: composites.get(schema.getSubscriptionType()?.name ?? '') },
    directives,
    weightedInputs: weightedInputs(schema, report),
  };
}

function fieldInfo(
  owner: string,
  field: GraphQLField<unknown, unknown>,
  related: string[],
  fallbackWeight: number,
  composites: ReadonlyMap<string, CompositeInfo>,
  typeWeights: ReadonlyMap<string, number>,
  report: ProblemSink,
): FieldInfo {
  const named = getNamedType(field.type);
  const args = new Map<string, ArgInfo>();
  for (const a of field.args) args.set(a.name, { weight: readCostWeight([a.astNode], report) ?? 0, inputType: getNamedType(a.type).name });
  const composite = composites.get(named.name);
  const raw = readListSize(field.astNode, report);
  return {
    name: field.name,
    coordinate: `${owner}.${field.name}`,
    related,
    composite,
    list: isListType(getNullableType(field.type)),
    weight: readCostWeight([field.astNode], report) ?? fallbackWeight,
    typeWeight: typeWeights.get(named.name) ?? 0,
    args,
    listSize: raw === undefined ? undefined : listSizeInfo(field, raw, report),
  };
}

/** Checks @listSize names against the field and precomputes each slicing argument's default. */
function listSizeInfo(field: GraphQLField<unknown, unknown>, raw: RawListSize, report: ProblemSink): ListSizeInfo {
  const slicing: SlicingArgument[] = [];
  for (const path of raw.slicingArguments) {
    const [arg, ...rest] = path.split('.');
    const def = field.args.find((a) => a.name === arg);
    if (def === undefined) {
      report(raw.node, `@listSize slicing argument "${path}" is not an argument of ${field.name}`);
      continue;
    }
    let value: unknown = def.defaultValue;
    for (const key of rest) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    // A default that is not a list size would price every query omitting the argument at 0 or less.
    if (typeof value === 'number' && !(Number.isInteger(value) && value >= 0)) report(raw.node, `@listSize slicing argument "${path}" has a default that is not an integer >= 0`);
    slicing.push({ arg: def.name, rest, schemaDefault: typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined });
  }
  const returned = getNamedType(field.type);
  for (const name of raw.sizedFields) {
    if (!(isObjectType(returned) || isInterfaceType(returned)) || !(name in returned.getFields())) {
      report(raw.node, `@listSize sized field "${name}" is not a field of the type ${field.name} returns`);
    }
  }
  return {
    slicing,
    assumedSize: raw.assumedSize,
    sizedFields: raw.sizedFields.length > 0 ? new Set(raw.sizedFields) : undefined,
    requireOneSlicingArgument: raw.requireOneSlicingArgument,
  };
}

function weightedInputs(schema: GraphQLSchema, report: ProblemSink): Map<string, Map<string, readonly [number, string]>> {
  const all = new Map<string, Map<string, readonly [number, string]>>();
  for (const t of Object.values(schema.getTypeMap())) {
    if (!isInputObjectType(t)) continue;
    const fields = new Map<string, readonly [number, string]>();
    for (const f of Object.values(t.getFields())) fields.set(f.name, [readCostWeight([f.astNode], report) ?? 0, getNamedType(f.type).name]);
    all.set(t.name, fields);
  }
  // Keep the types that reach a weight (directly or through a nested input type): a fixpoint.
  const weighted = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, fields] of all) {
      if (weighted.has(name)) continue;
      for (const [w, type] of fields.values()) {
        if (w > 0 || weighted.has(type)) {
          weighted.add(name);
          changed = true;
          break;
        }
      }
    }
  }
  for (const name of all.keys()) if (!weighted.has(name)) all.delete(name);
  return all;
}
