// Compiles validated policy documents into an immutable PolicySnapshot (DESIGN §4, §7
// "Compiled policy tables"): method pattern → combined rule in Maps, principals in Sets
// plus a short prefix list, claim conditions as closures, every Decision preallocated.
// CONTROL path: runs at load and reload, never per call.
import { createHash } from 'node:crypto';
import { compileGraphqlRules, type GraphqlContribution } from './compile-graphql.js';
import { compileMethodRule, flat, must, type Contribution } from './compile-rule.js';
import { createLookup, decideRule, type MethodTable } from './evaluate.js';
import { explainCall } from './explain.js';
import type { CompiledMethodRule, GraphqlRuleSource, PolicySnapshot, PolicySummary, RuleSource } from './model.js';
import { parseMethodPattern, type MethodPattern } from './patterns.js';
import type { LoadedPolicy, PolicySource } from './policy-source.js';

export type { PolicySnapshot } from './model.js';
export { compileMethodRule, type Contribution } from './compile-rule.js';

/** What compilePolicies needs: a successful LoadResult. */
export interface CompileInput {
  readonly sources: readonly PolicySource[];
  readonly policies: readonly LoadedPolicy[];
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
