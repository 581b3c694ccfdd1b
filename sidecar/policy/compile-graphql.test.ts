// GraphQL rules compiled per endpoint path: access, introspection, field rules by
// coordinate, the smallest limit of each kind (defaults where none is set, audit apart),
// cost budgets as weighted rate rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicies } from './compile.js';
import { DEFAULT_GRAPHQL_LIMITS } from './compile-graphql.js';
import { decideRule } from './evaluate.js';
import { parsePolicySources } from './load.js';
import type { PolicySnapshot } from './model.js';

function compile(...texts: string[]): PolicySnapshot {
  const loaded = parsePolicySources(texts.map((text, i) => ({ file: `p${i}.yaml`, text })));
  if (!loaded.ok) assert.fail(loaded.problems.join('\n'));
  return compilePolicies(loaded);
}

const doc = (name: string, mode: string, rules: string) =>
  `apiVersion: meshward.dev/v1alpha1\nkind: Policy\nmetadata: { name: ${name} }\nspec:\n  mode: ${mode}\n  graphql:\n${rules}`;

const SHOP = doc(
  'shop',
  'enforce',
  `    - path: /graphql
      allow: [ { principals: ["spiffe://td/ns/web/*"] } ]
      limits: { depth: 8, cost: 1000 }
      fields:
        - fields: ["User.email", "Report.*"]
          allow: [ { principals: ["spiffe://td/ns/ops/*"] } ]
      rateLimit: { requests: 50, per: 1s }
      costBudget: { points: 20000, per: 1m, by: "jwt:sub" }
`,
);
const SHADOW = doc(
  'shadow',
  'audit',
  `    - path: /graphql
      allow: [ { principals: ["*"] } ]
      limits: { depth: 4, aliases: 2 }
      introspection: { allow: [ { principals: ["spiffe://td/ns/ops/*"] } ] }
`,
);

const web = { method: 'graphql:/graphql', principal: 'spiffe://td/ns/web/sa/a', jwt: undefined };
const ops = { method: 'graphql:/graphql', principal: 'spiffe://td/ns/ops/sa/b', jwt: undefined };

test('an endpoint combines its rules: access, limits (smallest enforced, audited apart, defaults), budgets', () => {
  const rule = compile(SHOP, SHADOW).graphqlRule('/graphql')!;
  assert.equal(rule.path, '/graphql');
  assert.equal(decideRule(rule.access, web).decision, 'allow');
  assert.equal(rule.limits.depth.value, 8);
  assert.equal(rule.limits.depth.rule, 'shop:graphql[0]');
  assert.equal(rule.limits.cost.value, 1000);
  // Not set anywhere: meshward's default, no rule.
  assert.deepEqual(rule.limits.tokens, { value: DEFAULT_GRAPHQL_LIMITS.tokens, rule: undefined });
  assert.deepEqual(rule.limits.batch, { value: 1, rule: undefined });
  // The audit-mode policy's limits are audited only, even when smaller.
  assert.deepEqual(rule.auditedLimits, { depth: { value: 4, rule: 'shadow:graphql[0]' }, aliases: { value: 2, rule: 'shadow:graphql[0]' } });
  assert.deepEqual(rule.access.rateLimits.map((r) => [r.rule, r.requests, r.perMs]), [['shop:graphql[0]', 50, 1000]]);
  assert.deepEqual(rule.costBudgets, [
    { rule: 'shop:graphql[0].costBudget', mode: 'enforce', requests: 20000, perMs: 60_000, burst: undefined, by: { kind: 'jwt', claim: 'sub', path: ['sub'] }, unit: 'cost' },
  ]);
});

test('field rules by coordinate and Type.*; introspection only where a rule names it', () => {
  const snapshot = compile(SHOP, SHADOW);
  const rule = snapshot.graphqlRule('/graphql')!;
  assert.deepEqual([...rule.fields.keys()], ['User.email', 'Report.*']);
  const email = rule.fields.get('User.email')!;
  assert.equal(email.pattern, 'graphql:/graphql#User.email');
  assert.equal(decideRule(email, web).decision, 'deny');
  assert.equal(decideRule(email, web).rule, 'shop:graphql[0].fields[0]');
  assert.equal(decideRule(email, ops).decision, 'allow');
  // Introspection comes from the audit-mode policy: a denial there is only audited.
  assert.equal(decideRule(rule.introspection!, ops).decision, 'allow');
  assert.equal(decideRule(rule.introspection!, web).decision, 'audit_deny');
  assert.equal(compile(SHOP).graphqlRule('/graphql')!.introspection, undefined);
});

test('paths are separate endpoints; an unknown path has no rule', () => {
  const snapshot = compile(doc('a', 'enforce', '    - { path: /a, allow: [ { principals: ["*"] } ] }\n    - { path: /b, limits: { depth: 2 } }\n'));
  assert.equal(snapshot.graphqlRule('/a')!.limits.depth.value, DEFAULT_GRAPHQL_LIMITS.depth);
  assert.equal(snapshot.graphqlRule('/b')!.limits.depth.value, 2);
  // /b has no allow entry: nobody may call it.
  assert.equal(decideRule(snapshot.graphqlRule('/b')!.access, web).decision, 'deny');
  assert.equal(snapshot.graphqlRule('/c'), undefined);
});
