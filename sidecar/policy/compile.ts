// Compiles validated policy documents into an immutable PolicySnapshot (DESIGN §4, §7
// "Compiled policy tables"): method pattern → combined rule in Maps, principals in Sets
// plus a short prefix list, claim conditions as closures, every Decision preallocated.
// CONTROL path: runs at load and reload, never per call.
import { createHash } from 'node:crypto';
import { compileClaim } from './claims.js';
import { createLookup, decideRule, type MethodTable } from './evaluate.js';
import { compileGraphqlRules, type GraphqlContribution } from './compile-graphql.js';
import { explainCall } from './explain.js';
import type { LoadedPolicy, PolicySource } from './load.js';
import type {
  CompiledEntry,
  CompiledJwtCondition,
  CompiledMethodRule,
  Decision,
  DecisionReason,
  GraphqlRuleSource,
  PolicySnapshot,
  PolicySummary,
  PrincipalMatcher,
  RuleSource,
  ValidateRule,
} from './model.js';
import { parseLimitKey, parseMethodPattern, parsePrincipalPattern, type MethodPattern, type Parsed } from './patterns.js';
import type { GrpcPolicyRule, PolicyEntry } from './schema.js';

export type { PolicySnapshot } from './model.js';

/** What compilePolicies needs: a successful LoadResult. */
export interface CompileInput {
  readonly sources: readonly PolicySource[];
  readonly policies: readonly LoadedPolicy[];
}

/** What a rule contributes to a compiled rule: its access lists, limits and bounds (gRPC rules have all of them). */
type RuleSpec = Pick<GrpcPolicyRule, 'allow' | 'deny'> & Partial<Pick<GrpcPolicyRule, 'rateLimit' | 'concurrency' | 'bandwidth' | 'maxMessageBytes' | 'timeout' | 'validate'>>;

export interface Contribution {
  readonly source: RuleSource;
  readonly rule: RuleSpec;
  /** `FILE:LINE:COL` of a path inside the rule (e.g. ['allow', 0]). */
  readonly locate: (path: readonly (string | number)[]) => string;
}

/** Builds the snapshot. The input must be valid (from the loader); a bad pattern here is a bug and throws. */
export function compilePolicies(input: CompileInput): PolicySnapshot {
  const groups = new Map<string, { pattern: MethodPattern; contributions: Contribution[] }>();
  const policies: PolicySummary[] = [];
  const graphql: GraphqlRuleSource[] = [];
  const graphqlItems: GraphqlContribution[] = [];

  for (const policy of input.policies) {
    const { metadata, spec } = policy.value;
    policies.push(Object.freeze({ name: metadata.name, mode: spec.mode, file: policy.file, where: policy.locate([]) }));
    spec.grpc.forEach((rule, index) => {
      const source: RuleSource = Object.freeze({
        id: `${metadata.name}:grpc[${index}]`,
        policy: metadata.name,
        mode: spec.mode,
        where: policy.locate(['spec', 'grpc', index]),
      });
      for (const text of new Set(rule.methods)) {
        let group = groups.get(text);
        if (group === undefined) {
          group = { pattern: must(parseMethodPattern(text)), contributions: [] };
          groups.set(text, group);
        }
        group.contributions.push({ source, rule, locate: (path) => policy.locate(['spec', 'grpc', index, ...path]) });
      }
    });
    spec.graphql.forEach((rule, index) => {
      const source: RuleSource = Object.freeze({
        id: `${metadata.name}:graphql[${index}]`,
        policy: metadata.name,
        mode: spec.mode,
        where: policy.locate(['spec', 'graphql', index]),
      });
      graphql.push(Object.freeze({ ...source, rule }));
      graphqlItems.push({ source, rule, locate: (path) => policy.locate(['spec', 'graphql', index, ...path]) });
    });
  }

  const exact = new Map<string, CompiledMethodRule>();
  const services = new Map<string, { prefix: string; rule: CompiledMethodRule }[]>();
  let any: CompiledMethodRule | undefined;
  const grpc: CompiledMethodRule[] = [];
  for (const { pattern, contributions } of groups.values()) {
    const rule = compileMethodRule(pattern, contributions);
    grpc.push(rule);
    if (pattern.kind === 'exact') exact.set(flat(pattern.pattern), rule);
    else if (pattern.kind === 'any') any = rule;
    else {
      const key = flat(pattern.service);
      const list = services.get(key) ?? [];
      list.push(Object.freeze({ prefix: flat(pattern.prefix), rule }));
      services.set(key, list);
    }
  }
  for (const list of services.values()) list.sort((a, b) => b.prefix.length - a.prefix.length);
  grpc.sort(bySpecificity);

  const table: MethodTable = { exact, services, any };
  const lookup = createLookup(table);
  const frozenGrpc = Object.freeze(grpc);
  const graphqlRules = compileGraphqlRules(graphqlItems);
  return Object.freeze({
    version: policyVersion(input.sources),
    sources: Object.freeze(input.sources.map((s) => s.file)),
    policies: Object.freeze(policies),
    grpc: frozenGrpc,
    graphql: Object.freeze(graphql),
    graphqlRule: (path) => graphqlRules.get(path),
    lookup,
    decide: (facts) => decideRule(lookup(facts.method), facts),
    explain: (facts) => explainCall(frozenGrpc, lookup(facts.method), facts),
  } satisfies PolicySnapshot);
}

/** Short sha256 of the sources' contents, in load order: equal files give equal versions. */
export function policyVersion(sources: readonly PolicySource[]): string {
  const hash = createHash('sha256');
  for (const s of sources) hash.update(`${Buffer.byteLength(s.text)}\n`).update(s.text);
  return hash.digest('hex').slice(0, 12);
}

const KIND_RANK: Readonly<Record<MethodPattern['kind'], number>> = { exact: 0, prefix: 1, service: 2, any: 3 };

/** Most specific first: exact, longer prefix, shorter prefix, service wildcard, `*`; then by name. */
export function bySpecificity(a: { kind: MethodPattern['kind']; pattern: string }, b: { kind: MethodPattern['kind']; pattern: string }): number {
  return KIND_RANK[a.kind] - KIND_RANK[b.kind] || b.pattern.length - a.pattern.length || (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Combines every rule naming one pattern (DESIGN §4). GraphQL endpoints and fields compile through it too. */
export function compileMethodRule(pattern: MethodPattern, contributions: readonly Contribution[]): CompiledMethodRule {
  const mode = contributions.every((c) => c.source.mode === 'audit') ? 'audit' : 'enforce';
  const audit = mode === 'audit';
  // Filled below; decisions point back to it, so it exists before they do.
  const rule = { pattern: pattern.pattern, kind: pattern.kind, mode } as Mutable<CompiledMethodRule>;
  const decision = (id: string, reason: DecisionReason, code: Decision['code']): Decision =>
    Object.freeze({
      decision: reason === 'allowed' ? 'allow' : audit ? 'audit_deny' : 'deny',
      code: reason === 'allowed' || audit ? undefined : code,
      reason,
      rule: id,
      pattern: pattern.pattern,
      rules: rule,
    });

  const deny: CompiledEntry[] = [];
  const allow: CompiledEntry[] = [];
  for (const { source, rule: spec, locate } of contributions) {
    const allowed = decision(source.id, 'allowed', undefined);
    const denied = decision(source.id, 'denied_by_rule', 'PERMISSION_DENIED');
    const jwtRequired = decision(source.id, 'jwt_required', 'UNAUTHENTICATED');
    for (const list of ['deny', 'allow'] as const) {
      spec[list]?.forEach((entry, j) => {
        const compiled: CompiledEntry = Object.freeze({
          id: `${source.id}.${list}[${j}]`,
          rule: source.id,
          list,
          where: locate([list, j]),
          source: entry,
          peer: compilePeer(entry),
          jwt: compileJwt(entry),
          onMatch: list === 'deny' ? denied : allowed,
          onJwtMissing: list === 'allow' && entry.jwt !== undefined ? jwtRequired : undefined,
        });
        (list === 'deny' ? deny : allow).push(compiled);
      });
    }
  }

  const limitMode = (policyMode: string, limit: { mode: string }) => (policyMode === 'audit' || limit.mode === 'audit' ? 'audit' : 'enforce');
  const specs = contributions.map((c) => ({ id: c.source.id, mode: c.source.mode, spec: c.rule }));
  rule.sources = Object.freeze(contributions.map((c) => c.source));
  rule.deny = Object.freeze(deny);
  rule.allow = Object.freeze(allow);
  rule.rateLimits = Object.freeze(
    specs.flatMap(({ id, mode: m, spec: { rateLimit: l } }) =>
      l === undefined
        ? []
        : [Object.freeze({ rule: id, mode: limitMode(m, l), requests: l.requests, perMs: l.per, burst: l.burst, by: must(parseLimitKey(l.by)) })],
    ),
  );
  rule.concurrency = Object.freeze(
    specs.flatMap(({ id, mode: m, spec: { concurrency: l } }) =>
      l === undefined ? [] : [Object.freeze({ rule: id, mode: limitMode(m, l), max: l.max, queue: l.queue, queueTimeoutMs: l.queueTimeout })],
    ),
  );
  rule.bandwidth = Object.freeze(
    specs.flatMap(({ id, mode: m, spec: { bandwidth: l } }) =>
      l === undefined ? [] : [Object.freeze({ rule: id, mode: limitMode(m, l), bytesPerSecond: l.bytesPerSecond, by: must(parseLimitKey(l.by)) })],
    ),
  );
  rule.maxMessageBytes = smallest(contributions.map((c) => c.rule.maxMessageBytes));
  rule.timeoutMs = smallest(contributions.map((c) => c.rule.timeout));
  rule.validate = combineValidate(contributions);
  rule.noAllowMatch = decision(contributions[0]!.source.id, 'no_allow_match', 'PERMISSION_DENIED');
  return Object.freeze(rule);
}

/** Like a limit, every rule's validation applies: one enforcing rule (in an enforcing policy) makes it enforced. */
function combineValidate(contributions: readonly Contribution[]): ValidateRule | undefined {
  let audited: ValidateRule | undefined;
  for (const c of contributions) {
    const v = c.rule.validate;
    if (v === undefined) continue;
    if (v === 'enforce' && c.source.mode === 'enforce') return Object.freeze({ rule: c.source.id, mode: 'enforce' });
    audited ??= Object.freeze({ rule: c.source.id, mode: 'audit' });
  }
  return audited;
}

const ANY_PEER: PrincipalMatcher = Object.freeze({ any: true, exact: new Set<string>(), prefixes: Object.freeze([]) });

/** undefined = anyone (unauthenticated: true); no principals = any authenticated peer. */
function compilePeer(entry: PolicyEntry): PrincipalMatcher | undefined {
  if (entry.unauthenticated === true) return undefined;
  if (entry.principals === undefined) return ANY_PEER;
  const exact = new Set<string>();
  const prefixes = new Set<string>();
  let any = false;
  for (const text of entry.principals) {
    const p = must(parsePrincipalPattern(text));
    if (p.kind === 'any') any = true;
    else if (p.kind === 'exact') exact.add(flat(p.id));
    else prefixes.add(flat(p.prefix));
  }
  if (any) return ANY_PEER;
  // Shorter prefixes first: they match more IDs, so the loop ends sooner.
  return Object.freeze({ any, exact, prefixes: Object.freeze([...prefixes].sort((a, b) => a.length - b.length)) });
}

function compileJwt(entry: PolicyEntry): CompiledJwtCondition | undefined {
  if (entry.jwt === undefined) return undefined;
  const claims = Object.entries(entry.jwt.claims ?? {}).map(([path, expected]) =>
    compileClaim(flat(path), typeof expected === 'string' ? flat(expected) : expected.map(flat)),
  );
  return Object.freeze({ provider: flat(entry.jwt.provider), claims: Object.freeze(claims) });
}

function smallest(values: readonly (number | undefined)[]): number | undefined {
  let min: number | undefined;
  for (const v of values) if (v !== undefined && (min === undefined || v < min)) min = v;
  return min;
}

/**
 * A fresh, flat copy of a string the data path compares. The YAML parser's strings are
 * slices of the file text: V8 compares such strings several times slower in Set and Map
 * lookups, and each one would keep the whole file text alive as long as the snapshot.
 */
function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

function must<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new Error(`policy compile: input not validated by the loader: ${parsed.error}`);
  return parsed.value;
}
