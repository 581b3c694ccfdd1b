// Decisions (DESIGN §4, §5) through one harness: policy YAML → snapshot → decide(facts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VerifiedJwt } from '../authn/verified-jwt.js';
import { compilePolicies } from './compile.js';
import { parsePolicySources } from './load.js';
import type { CallFacts, Decision, PolicySnapshot } from './model.js';

const FRONTEND = 'spiffe://cluster.local/ns/web/sa/frontend';
const OPS = 'spiffe://cluster.local/ns/ops/sa/oncall';
const SANDBOX = 'spiffe://cluster.local/ns/sandbox/sa/x';
const OTHER_TD = 'spiffe://other.org/ns/web/sa/frontend';

/** A policy document; each rule is a YAML flow mapping, e.g. `{ methods: ["a.B/*"], allow: [...] }`. */
function policy(name: string, rules: readonly string[], mode: 'enforce' | 'audit' = 'enforce'): string {
  return [
    'apiVersion: meshward.dev/v1alpha1',
    'kind: Policy',
    `metadata: { name: ${name} }`,
    'spec:',
    `  mode: ${mode}`,
    '  grpc:',
    ...rules.map((r) => `    - ${r}`),
    '',
  ].join('\n');
}

function snapshotOf(docs: string | readonly string[]): PolicySnapshot {
  const texts = typeof docs === 'string' ? [docs] : docs;
  const loaded = parsePolicySources(texts.map((text, i) => ({ file: `p${i}.yaml`, text })));
  if (!loaded.ok) assert.fail(`policies do not load:\n${loaded.problems.join('\n')}`);
  return compilePolicies(loaded);
}

function jwt(provider: string, payload: Record<string, unknown>): VerifiedJwt {
  return { provider, payload, subject: undefined, expiresAt: 0 };
}

type Expected = Partial<Pick<Decision, 'decision' | 'code' | 'reason' | 'rule' | 'pattern'>>;

/**
 * The harness: decide once and compare the given fields. Whatever is given, a deny must
 * carry a code and an allow / audit_deny must not.
 */
function expectDecision(
  policies: string | readonly string[],
  facts: { method: string; principal?: string; jwt?: VerifiedJwt },
  expected: Expected,
): Decision {
  const snapshot = typeof policies === 'string' || Array.isArray(policies) ? snapshotOf(policies) : (policies as unknown as PolicySnapshot);
  const full: CallFacts = { method: facts.method, principal: facts.principal, jwt: facts.jwt };
  const d = snapshot.decide(full);
  const got = Object.fromEntries(Object.keys(expected).map((k) => [k, d[k as keyof Decision]]));
  assert.deepEqual(got, expected, `decide(${JSON.stringify(full)})`);
  assert.equal(d.code !== undefined, d.decision === 'deny', `code ${d.code} with decision ${d.decision}`);
  // explain never disagrees with decide.
  assert.equal(snapshot.explain(full).decision, d);
  return d;
}

const ALLOWED: Expected = { decision: 'allow', code: undefined, reason: 'allowed' };
const NO_MATCH: Expected = { decision: 'deny', code: 'PERMISSION_DENIED', reason: 'no_allow_match' };

// --- principals -----------------------------------------------------------------------

const principalsPolicy = policy('p', [
  `{ methods: ["a.S/Exact"], allow: [{ principals: ["${FRONTEND}"] }] }`,
  `{ methods: ["a.S/Prefix"], allow: [{ principals: ["spiffe://cluster.local/ns/ops/*"] }] }`,
  `{ methods: ["a.S/TrustDomain"], allow: [{ principals: ["spiffe://cluster.local/*"] }] }`,
  `{ methods: ["a.S/Any"], allow: [{ principals: ["*"] }] }`,
  `{ methods: ["a.S/Plain"], allow: [{ unauthenticated: true }] }`,
  `{ methods: ["a.S/Mixed"], allow: [{ principals: ["${FRONTEND}", "spiffe://cluster.local/ns/ops/*"] }] }`,
]);

const principalMatrix: [method: string, principal: string | undefined, allowed: boolean][] = [
  ['a.S/Exact', FRONTEND, true],
  ['a.S/Exact', `${FRONTEND}2`, false],
  ['a.S/Exact', `${FRONTEND}/x`, false],
  ['a.S/Exact', OTHER_TD, false],
  ['a.S/Exact', undefined, false],
  ['a.S/Prefix', OPS, true],
  ['a.S/Prefix', 'spiffe://cluster.local/ns/ops', false],
  ['a.S/Prefix', 'spiffe://cluster.local/ns/opsx/sa/y', false],
  ['a.S/Prefix', FRONTEND, false],
  ['a.S/Prefix', undefined, false],
  ['a.S/TrustDomain', FRONTEND, true],
  ['a.S/TrustDomain', OTHER_TD, false],
  ['a.S/Any', OTHER_TD, true],
  ['a.S/Any', undefined, false],
  ['a.S/Plain', undefined, true],
  ['a.S/Plain', FRONTEND, true],
  ['a.S/Mixed', FRONTEND, true],
  ['a.S/Mixed', OPS, true],
  ['a.S/Mixed', SANDBOX, false],
];

test('principals: exact, prefix, trust domain, "*", unauthenticated', () => {
  const snapshot = snapshotOf(principalsPolicy);
  for (const [method, principal, allowed] of principalMatrix) {
    const d = snapshot.decide({ method, principal, jwt: undefined });
    assert.equal(d.decision, allowed ? 'allow' : 'deny', `${method} as ${principal ?? 'plaintext'}`);
    assert.equal(d.code, allowed ? undefined : 'PERMISSION_DENIED');
    assert.equal(d.reason, allowed ? 'allowed' : 'no_allow_match');
  }
});

test('an entry with only jwt requires an authenticated peer; unauthenticated: true lifts it', () => {
  const p = policy('p', [
    '{ methods: ["a.S/Peer"], allow: [{ jwt: { provider: corp } }] }',
    '{ methods: ["a.S/Anyone"], allow: [{ unauthenticated: true, jwt: { provider: corp } }] }',
  ]);
  const token = jwt('corp', {});
  expectDecision(p, { method: 'a.S/Peer', principal: FRONTEND, jwt: token }, ALLOWED);
  expectDecision(p, { method: 'a.S/Peer', jwt: token }, NO_MATCH);
  expectDecision(p, { method: 'a.S/Anyone', jwt: token }, ALLOWED);
  expectDecision(p, { method: 'a.S/Anyone', principal: FRONTEND, jwt: token }, ALLOWED);
  expectDecision(p, { method: 'a.S/Anyone' }, { decision: 'deny', code: 'UNAUTHENTICATED', reason: 'jwt_required' });
});

// --- claims ---------------------------------------------------------------------------

const claimsPolicy = policy('c', [
  `{ methods: ["a.S/String"], allow: [{ principals: ["*"], jwt: { provider: corp, claims: { sub: alice } } }] }`,
  `{ methods: ["a.S/Scope"], allow: [{ principals: ["*"], jwt: { provider: corp, claims: { scope: "orders:read" } } }] }`,
  `{ methods: ["a.S/Scp"], allow: [{ principals: ["*"], jwt: { provider: corp, claims: { scp: "orders:read" } } }] }`,
  `{ methods: ["a.S/Roles"], allow: [{ principals: ["*"], jwt: { provider: corp, claims: { "realm_access.roles": admin } } }] }`,
  `{ methods: ["a.S/AnyOf"], allow: [{ principals: ["*"], jwt: { provider: corp, claims: { tier: [gold, silver] } } }] }`,
  `{ methods: ["a.S/Both"], allow: [{ principals: ["*"], jwt: { provider: corp, claims: { sub: alice, groups: ops } } }] }`,
]);

const claimMatrix: [method: string, token: VerifiedJwt, allowed: boolean, why: string][] = [
  ['a.S/String', jwt('corp', { sub: 'alice' }), true, 'equal string'],
  ['a.S/String', jwt('corp', { sub: 'alicex' }), false, 'different string'],
  ['a.S/String', jwt('corp', { sub: ['alice'] }), true, 'array membership'],
  ['a.S/String', jwt('corp', {}), false, 'missing claim'],
  ['a.S/String', jwt('other', { sub: 'alice' }), false, 'wrong provider'],
  ['a.S/String', jwt('corp', { sub: 7 }), false, 'a number is not a string'],
  ['a.S/Scope', jwt('corp', { scope: 'openid orders:read profile' }), true, 'scope item in the middle'],
  ['a.S/Scope', jwt('corp', { scope: 'orders:read' }), true, 'scope alone'],
  ['a.S/Scope', jwt('corp', { scope: 'orders:readwrite orders:rea' }), false, 'scope substring is not an item'],
  ['a.S/Scope', jwt('corp', { scope: ['orders:read'] }), true, 'scope as an array'],
  ['a.S/Scp', jwt('corp', { scp: 'a orders:read' }), true, 'scp item'],
  ['a.S/String', jwt('corp', { sub: 'x alice' }), false, 'space items only for scope/scp'],
  ['a.S/Roles', jwt('corp', { realm_access: { roles: ['user', 'admin'] } }), true, 'nested path, array'],
  ['a.S/Roles', jwt('corp', { realm_access: { roles: ['user'] } }), false, 'nested path, not a member'],
  ['a.S/Roles', jwt('corp', { realm_access: 'admin' }), false, 'path through a string'],
  ['a.S/Roles', jwt('corp', { 'realm_access.roles': 'admin' }), true, 'a key with dots in it'],
  ['a.S/Roles', jwt('corp', {}), false, 'nested path missing'],
  ['a.S/AnyOf', jwt('corp', { tier: 'silver' }), true, 'list of values, second'],
  ['a.S/AnyOf', jwt('corp', { tier: ['bronze', 'gold'] }), true, 'list of values against an array'],
  ['a.S/AnyOf', jwt('corp', { tier: 'bronze' }), false, 'list of values, none'],
  ['a.S/Both', jwt('corp', { sub: 'alice', groups: ['ops'] }), true, 'two claims, both'],
  ['a.S/Both', jwt('corp', { sub: 'alice', groups: ['dev'] }), false, 'two claims AND-ed'],
];

test('claims: string, array membership, scope item, list of values, nested path, missing, wrong provider', () => {
  const snapshot = snapshotOf(claimsPolicy);
  for (const [method, token, allowed, why] of claimMatrix) {
    const d = snapshot.decide({ method, principal: FRONTEND, jwt: token });
    assert.equal(d.decision, allowed ? 'allow' : 'deny', `${why}: ${method} ${JSON.stringify(token.payload)}`);
    if (!allowed) assert.equal(d.reason, 'no_allow_match', why);
  }
});

test('claims do not read inherited properties', () => {
  const p = policy('c', ['{ methods: ["a.S/M"], allow: [{ principals: ["*"], jwt: { provider: corp, claims: { "constructor.name": Object } } }] }']);
  expectDecision(p, { method: 'a.S/M', principal: FRONTEND, jwt: jwt('corp', {}) }, NO_MATCH);
});

// --- method specificity ---------------------------------------------------------------

const specificity = policy('s', [
  `{ methods: ["*"], allow: [{ principals: ["spiffe://cluster.local/ns/any/*"] }] }`,
  `{ methods: ["a.S/*"], allow: [{ principals: ["spiffe://cluster.local/ns/service/*"] }] }`,
  `{ methods: ["a.S/Get*"], allow: [{ principals: ["spiffe://cluster.local/ns/get/*"] }] }`,
  `{ methods: ["a.S/GetOrder*"], allow: [{ principals: ["spiffe://cluster.local/ns/getorder/*"] }] }`,
  `{ methods: ["a.S/GetOrder"], allow: [{ principals: ["spiffe://cluster.local/ns/exact/*"] }] }`,
]);

test('the most specific pattern decides: exact > longest prefix > service wildcard > *', () => {
  const cases: [method: string, pattern: string, rule: string][] = [
    ['a.S/GetOrder', 'a.S/GetOrder', 's:grpc[4]'],
    ['a.S/GetOrders', 'a.S/GetOrder*', 's:grpc[3]'],
    ['a.S/GetUser', 'a.S/Get*', 's:grpc[2]'],
    ['a.S/Get', 'a.S/Get*', 's:grpc[2]'],
    ['a.S/List', 'a.S/*', 's:grpc[1]'],
    ['a.Sx/GetOrder', '*', 's:grpc[0]'],
    ['b.T/Call', '*', 's:grpc[0]'],
  ];
  const snapshot = snapshotOf(specificity);
  for (const [method, pattern, rule] of cases) {
    const ns = { 'a.S/GetOrder': 'exact', 'a.S/GetOrder*': 'getorder', 'a.S/Get*': 'get', 'a.S/*': 'service', '*': 'any' }[pattern];
    const winner = `spiffe://cluster.local/ns/${ns}/sa/x`;
    assert.equal(snapshot.lookup(method)?.pattern, pattern, method);
    expectDecision([specificity], { method, principal: winner }, { ...ALLOWED, pattern, rule });
    // A less specific rule's principal does not help once a more specific pattern matched.
    if (ns !== 'any') expectDecision([specificity], { method, principal: 'spiffe://cluster.local/ns/any/sa/x' }, { ...NO_MATCH, pattern });
  }
});

test('a method no rule names is denied by default, even with a wildcard service elsewhere', () => {
  const p = policy('p', [`{ methods: ["a.S/*"], allow: [{ principals: ["*"] }] }`]);
  const d = expectDecision(p, { method: 'b.S/M', principal: FRONTEND }, { decision: 'deny', code: 'PERMISSION_DENIED', reason: 'default_deny', rule: undefined, pattern: undefined });
  assert.equal(d.rules, undefined);
  expectDecision([], { method: 'a.S/M', principal: FRONTEND }, { decision: 'deny', reason: 'default_deny' });
  // A service name that is a prefix of another must not match it.
  expectDecision(p, { method: 'a.SS/M', principal: FRONTEND }, { reason: 'default_deny' });
});

// --- deny before allow, combination, audit ------------------------------------------

test('deny entries are checked before allow entries', () => {
  const p = policy('p', [
    `{ methods: ["a.S/*"], allow: [{ principals: ["spiffe://cluster.local/*"] }], deny: [{ principals: ["spiffe://cluster.local/ns/sandbox/*"] }] }`,
  ]);
  expectDecision(p, { method: 'a.S/M', principal: SANDBOX }, { decision: 'deny', code: 'PERMISSION_DENIED', reason: 'denied_by_rule', rule: 'p:grpc[0]' });
  expectDecision(p, { method: 'a.S/M', principal: FRONTEND }, { ...ALLOWED, rule: 'p:grpc[0]' });
});

test('a deny entry with a jwt condition denies only matching tokens', () => {
  const p = policy('p', [
    `{ methods: ["a.S/*"], allow: [{ principals: ["*"] }], deny: [{ jwt: { provider: corp, claims: { blocked: "yes" } } }] }`,
  ]);
  expectDecision(p, { method: 'a.S/M', principal: FRONTEND }, ALLOWED);
  expectDecision(p, { method: 'a.S/M', principal: FRONTEND, jwt: jwt('corp', { blocked: 'no' }) }, ALLOWED);
  expectDecision(p, { method: 'a.S/M', principal: FRONTEND, jwt: jwt('corp', { blocked: 'yes' }) }, { decision: 'deny', reason: 'denied_by_rule' });
});

test('rules with the same pattern combine across documents: any deny denies, any allow allows', () => {
  const a = policy('team-a', [`{ methods: ["a.S/*"], allow: [{ principals: ["${FRONTEND}"] }] }`]);
  const b = policy('team-b', [`{ methods: ["a.S/*"], allow: [{ principals: ["spiffe://cluster.local/ns/ops/*"] }] }`]);
  const c = policy('platform', [`{ methods: ["a.S/*", "x.Y/Z"], deny: [{ principals: ["${SANDBOX}"] }] }`]);
  const docs = [a, b, c];
  expectDecision(docs, { method: 'a.S/M', principal: FRONTEND }, { ...ALLOWED, rule: 'team-a:grpc[0]' });
  expectDecision(docs, { method: 'a.S/M', principal: OPS }, { ...ALLOWED, rule: 'team-b:grpc[0]' });
  expectDecision(docs, { method: 'a.S/M', principal: SANDBOX }, { decision: 'deny', reason: 'denied_by_rule', rule: 'platform:grpc[0]' });
  expectDecision(docs, { method: 'a.S/M', principal: OTHER_TD }, { ...NO_MATCH, rule: 'team-a:grpc[0]' });
  // x.Y/Z has only a deny rule: nothing allows it.
  expectDecision(docs, { method: 'x.Y/Z', principal: FRONTEND }, { ...NO_MATCH, rule: 'platform:grpc[0]' });
  const rule = snapshotOf(docs).lookup('a.S/M');
  assert.deepEqual(rule?.sources.map((s) => s.id), ['team-a:grpc[0]', 'team-b:grpc[0]', 'platform:grpc[0]']);
});

test('audit mode: a would-be deny is audit_deny with no code; combined rules are audit only if every policy is', () => {
  const audit = policy('trial', [`{ methods: ["a.S/*"], allow: [{ principals: ["${OPS}"] }], deny: [{ principals: ["${SANDBOX}"] }] }`], 'audit');
  expectDecision(audit, { method: 'a.S/M', principal: FRONTEND }, { decision: 'audit_deny', code: undefined, reason: 'no_allow_match', rule: 'trial:grpc[0]' });
  expectDecision(audit, { method: 'a.S/M', principal: SANDBOX }, { decision: 'audit_deny', code: undefined, reason: 'denied_by_rule' });
  expectDecision(audit, { method: 'a.S/M', principal: OPS }, ALLOWED);
  // Default deny stays a deny: no rule, so no audit mode.
  expectDecision(audit, { method: 'b.S/M', principal: OPS }, { decision: 'deny', reason: 'default_deny' });

  const enforce = policy('prod', [`{ methods: ["a.S/*"], allow: [{ principals: ["${FRONTEND}"] }] }`]);
  expectDecision([audit, enforce], { method: 'a.S/M', principal: SANDBOX }, { decision: 'deny', code: 'PERMISSION_DENIED', reason: 'denied_by_rule' });
  assert.equal(snapshotOf([audit, enforce]).lookup('a.S/M')?.mode, 'enforce');
  const audit2 = policy('trial2', [`{ methods: ["a.S/*"], allow: [{ principals: ["${FRONTEND}"] }] }`], 'audit');
  expectDecision([audit, audit2], { method: 'a.S/M', principal: OTHER_TD }, { decision: 'audit_deny', reason: 'no_allow_match' });
});

test('jwt_required: UNAUTHENTICATED when an allow entry would match but for a missing JWT', () => {
  const p = policy('p', [
    `{ methods: ["a.S/*"], allow: [{ principals: ["${OPS}"] }, { principals: ["${FRONTEND}"], jwt: { provider: corp, claims: { role: admin } } }] }`,
  ]);
  expectDecision(p, { method: 'a.S/M', principal: FRONTEND }, { decision: 'deny', code: 'UNAUTHENTICATED', reason: 'jwt_required', rule: 'p:grpc[0]' });
  // A token that fails the claims is a permission problem, not an authentication one.
  expectDecision(p, { method: 'a.S/M', principal: FRONTEND, jwt: jwt('corp', { role: 'user' }) }, { ...NO_MATCH });
  expectDecision(p, { method: 'a.S/M', principal: FRONTEND, jwt: jwt('corp', { role: 'admin' }) }, ALLOWED);
  // The JWT would not help a peer the entry does not name.
  expectDecision(p, { method: 'a.S/M', principal: SANDBOX }, NO_MATCH);
  expectDecision(p, { method: 'a.S/M' }, NO_MATCH);
  const audit = policy('p', [`{ methods: ["a.S/*"], allow: [{ jwt: { provider: corp } }] }`], 'audit');
  expectDecision(audit, { method: 'a.S/M', principal: FRONTEND }, { decision: 'audit_deny', code: undefined, reason: 'jwt_required' });
});

// --- the snapshot ---------------------------------------------------------------------

test('the snapshot, its rules, entries and decisions are frozen; allow decisions are preallocated', () => {
  const snapshot = snapshotOf(principalsPolicy);
  assert.ok(Object.isFrozen(snapshot));
  assert.ok(Object.isFrozen(snapshot.grpc));
  assert.ok(Object.isFrozen(snapshot.sources));
  for (const rule of snapshot.grpc) {
    assert.ok(Object.isFrozen(rule), rule.pattern);
    assert.ok(Object.isFrozen(rule.allow) && Object.isFrozen(rule.deny) && Object.isFrozen(rule.rateLimits));
    for (const entry of rule.allow) assert.ok(Object.isFrozen(entry) && Object.isFrozen(entry.onMatch) && Object.isFrozen(entry.source));
  }
  assert.throws(() => {
    (snapshot as { version: string }).version = 'x';
  }, TypeError);
  const facts = { method: 'a.S/Exact', principal: FRONTEND, jwt: undefined };
  const first = snapshot.decide(facts);
  assert.ok(Object.isFrozen(first));
  assert.equal(snapshot.decide({ ...facts }), first, 'the same preallocated object every call');
  assert.equal(first.rules, snapshot.lookup('a.S/Exact'));
});
