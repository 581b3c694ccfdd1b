// Compiles the `graphql` rules of all policies into one combined rule per endpoint path
// (DESIGN §4): access lists and rate limits, introspection, field rules, limits and cost
// budgets. CONTROL path: runs with the rest of the snapshot, never per call.
import { compileMethodRule, type Contribution } from './compile-rule.js';
import type { CompiledGraphqlRule, CompiledMethodRule, GraphqlLimit, GraphqlLimitName, GraphqlLimitValues, RateLimitRule, RuleSource } from './model.js';
import { parseLimitKey, type MethodPattern } from './patterns.js';
import type { GraphqlPolicyRule } from './schema.js';

/** One graphql rule of one policy, with where it came from. */
export interface GraphqlContribution {
  readonly source: RuleSource;
  readonly rule: GraphqlPolicyRule;
  readonly locate: (path: readonly (string | number)[]) => string;
}

/**
 * Bounds when no rule sets one ("bounded everything"). Generous for real clients, small
 * enough that one document cannot cost the sidecar or the app much.
 */
export const DEFAULT_GRAPHQL_LIMITS: Readonly<Required<GraphqlLimitValues>> = Object.freeze({
  depth: 15,
  cost: 10_000,
  aliases: 30,
  rootFields: 30,
  tokens: 10_000,
  directives: 50,
  batch: 1,
  bodyBytes: 1024 * 1024,
});

const LIMIT_NAMES = Object.keys(DEFAULT_GRAPHQL_LIMITS) as GraphqlLimitName[];

/** The pattern a GraphQL rule shows in decisions, metrics and explain: "graphql:/graphql", "graphql:/graphql#User.email". */
function pattern(text: string): MethodPattern {
  return { kind: 'exact', pattern: text, service: 'graphql', method: text };
}

export function compileGraphqlRules(items: readonly GraphqlContribution[]): ReadonlyMap<string, CompiledGraphqlRule> {
  const byPath = new Map<string, GraphqlContribution[]>();
  for (const item of items) {
    const list = byPath.get(item.rule.path) ?? [];
    list.push(item);
    byPath.set(item.rule.path, list);
  }
  const out = new Map<string, CompiledGraphqlRule>();
  for (const [path, list] of byPath) out.set(path, compileEndpoint(path, list));
  return out;
}

function compileEndpoint(path: string, items: readonly GraphqlContribution[]): CompiledGraphqlRule {
  const access: Contribution[] = items.map(({ source, rule, locate }) => ({
    source,
    rule: { allow: rule.allow, deny: rule.deny, rateLimit: rule.rateLimit },
    locate,
  }));

  const introspection: Contribution[] = [];
  const fields = new Map<string, Contribution[]>();
  for (const { source, rule, locate } of items) {
    if (rule.introspection !== undefined) {
      introspection.push({
        source: { ...source, id: `${source.id}.introspection` },
        rule: { allow: rule.introspection.allow, deny: rule.introspection.deny },
        locate: (p) => locate(['introspection', ...p]),
      });
    }
    rule.fields?.forEach((fieldRule, k) => {
      const contribution: Contribution = {
        source: { ...source, id: `${source.id}.fields[${k}]` },
        rule: { allow: fieldRule.allow, deny: fieldRule.deny },
        locate: (p) => locate(['fields', k, ...p]),
      };
      for (const coordinate of new Set(fieldRule.fields)) {
        const list = fields.get(coordinate) ?? [];
        list.push(contribution);
        fields.set(coordinate, list);
      }
    });
  }

  const compiledFields = new Map<string, CompiledMethodRule>();
  for (const [coordinate, list] of fields) compiledFields.set(coordinate, compileMethodRule(pattern(`graphql:${path}#${coordinate}`), list));

  return Object.freeze({
    path,
    access: compileMethodRule(pattern(`graphql:${path}`), access),
    introspection: introspection.length === 0 ? undefined : compileMethodRule(pattern(`graphql:${path}#introspection`), introspection),
    fields: compiledFields,
    ...combineLimits(items),
    costBudgets: Object.freeze(
      items.flatMap(({ source, rule }): RateLimitRule[] => {
        const b = rule.costBudget;
        if (b === undefined) return [];
        const by = parseLimitKey(b.by);
        if (!by.ok) throw new Error(`policy compile: input not validated by the loader: ${by.error}`);
        const mode = source.mode === 'audit' || b.mode === 'audit' ? 'audit' : 'enforce';
        return [Object.freeze({ rule: `${source.id}.costBudget`, mode, requests: b.points, perMs: b.per, burst: undefined, by: by.value, unit: 'cost' })];
      }),
    ),
  });
}

/** Smallest bound per limit, enforced and audited apart; defaults fill the enforced gaps. */
function combineLimits(items: readonly GraphqlContribution[]): Pick<CompiledGraphqlRule, 'limits' | 'auditedLimits'> {
  const enforced: Partial<Record<GraphqlLimitName, GraphqlLimit>> = {};
  const audited: Partial<Record<GraphqlLimitName, GraphqlLimit>> = {};
  for (const { source, rule } of items) {
    const limits = rule.limits;
    if (limits === undefined) continue;
    const target = source.mode === 'audit' || limits.mode === 'audit' ? audited : enforced;
    for (const name of LIMIT_NAMES) {
      const value = limits[name];
      if (value === undefined) continue;
      const current = target[name];
      if (current === undefined || value < current.value) target[name] = Object.freeze({ value, rule: source.id });
    }
  }
  for (const name of LIMIT_NAMES) enforced[name] ??= Object.freeze({ value: DEFAULT_GRAPHQL_LIMITS[name], rule: undefined });
  return { limits: Object.freeze(enforced as Record<GraphqlLimitName, GraphqlLimit>), auditedLimits: Object.freeze(audited) };
}
