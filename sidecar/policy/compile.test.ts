// Compilation: combined rules keep every limit, versions follow the contents, explain
// accounts for every entry and agrees with decide.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicies, policyVersion } from './compile.js';
import { parsePolicySources, type PolicySource } from './load.js';
import type { PolicySnapshot } from './model.js';

function compile(sources: PolicySource[]): PolicySnapshot {
  const loaded = parsePolicySources(sources);
  if (!loaded.ok) assert.fail(loaded.problems.join('\n'));
  return compilePolicies(loaded);
}

const doc = (name: string, mode: string, rules: string) =>
  `apiVersion: meshward.dev/v1alpha1\nkind: Policy\nmetadata: { name: ${name} }\nspec:\n  mode: ${mode}\n  grpc:\n${rules}`;

const A = doc(
  'a',
  'enforce',
  `    - methods: ["s.S/*"]
      allow: [{ principals: ["*"] }]
      rateLimit: { requests: 100, per: 1s, burst: 20 }
      concurrency: { max: 16 }
      maxMessageBytes: 64Ki
      timeout: 5s
`,
);
const B = doc(
  'b',
  'audit',
  `    - methods: ["s.S/*", "s.S/Get*"]
      allow: [{ principals: ["spiffe://td/x"] }]
      rateLimit: { requests: 10, per: 1m, by: "jwt:sub", mode: enforce }
      bandwidth: { bytesPerSecond: 1Mi, by: global, mode: audit }
      maxMessageBytes: 1024
      timeout: 10s
  graphql:
    - { allow: [{ principals: ["*"] }], limits: { depth: 5 } }
`,
);

test('same-pattern rules combine: every limit kept with its rule id, the smallest size and timeout', () => {
  const snapshot = compile([{ file: 'a.yaml', text: A }, { file: 'b.yaml', text: B }]);
  assert.deepEqual(snapshot.grpc.map((r) => r.pattern), ['s.S/Get*', 's.S/*']);
  const rule = snapshot.lookup('s.S/List')!;
  assert.equal(rule.mode, 'enforce');
  assert.deepEqual(rule.sources.map((s) => [s.id, s.mode, s.where]), [
    ['a:grpc[0]', 'enforce', 'a.yaml:7:7'],
    ['b:grpc[0]', 'audit', 'b.yaml:7:7'],
  ]);
  assert.deepEqual(rule.rateLimits, [
    { rule: 'a:grpc[0]', mode: 'enforce', requests: 100, perMs: 1000, burst: 20, by: { kind: 'principal' } },
    // A limit in an audit-mode policy is an audit limit, whatever it says itself.
    { rule: 'b:grpc[0]', mode: 'audit', requests: 10, perMs: 60_000, burst: undefined, by: { kind: 'jwt', claim: 'sub', path: ['sub'] } },
  ]);
  assert.deepEqual(rule.concurrency, [{ rule: 'a:grpc[0]', mode: 'enforce', max: 16, queue: 0, queueTimeoutMs: undefined }]);
  assert.deepEqual(rule.bandwidth, [{ rule: 'b:grpc[0]', mode: 'audit', bytesPerSecond: 1024 * 1024, by: { kind: 'global' } }]);
  assert.equal(rule.maxMessageBytes, 1024);
  assert.equal(rule.timeoutMs, 5000);
  // s.S/Get* comes from b alone: audit.
  const get = snapshot.lookup('s.S/GetX')!;
  assert.equal(get.mode, 'audit');
  assert.equal(get.maxMessageBytes, 1024);
  assert.equal(snapshot.decide({ method: 's.S/GetX', principal: 'spiffe://td/y', jwt: undefined }).decision, 'audit_deny');
  assert.deepEqual(snapshot.graphql.map((g) => [g.id, g.mode, g.rule.limits?.depth]), [['b:graphql[0]', 'audit', 5]]);
  assert.deepEqual(snapshot.policies.map((p) => [p.name, p.mode, p.file]), [['a', 'enforce', 'a.yaml'], ['b', 'audit', 'b.yaml']]);
});

test('version: a short sha256 of the contents; sources: the files in load order', () => {
  const one = compile([{ file: 'a.yaml', text: A }, { file: 'b.yaml', text: B }]);
  const same = compile([{ file: 'elsewhere/a.yaml', text: A }, { file: 'elsewhere/b.yaml', text: B }]);
  const changed = compile([{ file: 'a.yaml', text: A + '# comment\n' }, { file: 'b.yaml', text: B }]);
  assert.match(one.version, /^[0-9a-f]{12}$/);
  assert.equal(one.version, same.version);
  assert.notEqual(one.version, changed.version);
  // Moving text from one file to the next changes the version.
  assert.notEqual(policyVersion([{ file: 'x', text: 'ab' }, { file: 'y', text: 'c' }]), policyVersion([{ file: 'x', text: 'a' }, { file: 'y', text: 'bc' }]));
  assert.deepEqual(one.sources, ['a.yaml', 'b.yaml']);
});

test('lookup results are stable across repeated and unknown methods (the memo never changes an answer)', () => {
  const snapshot = compile([{ file: 'a.yaml', text: A }, { file: 'b.yaml', text: B }]);
  for (let i = 0; i < 5000; i++) assert.equal(snapshot.lookup(`x.Y/M${i}`), undefined);
  for (let i = 0; i < 3; i++) {
    assert.equal(snapshot.lookup('s.S/GetA')?.pattern, 's.S/Get*');
    assert.equal(snapshot.lookup('s.S/Put')?.pattern, 's.S/*');
    assert.equal(snapshot.lookup('s.SX/Put'), undefined);
  }
});

test('explain: the candidates by specificity, every entry with its conditions and values seen', () => {
  const text = doc(
    'p',
    'enforce',
    `    - methods: ["*"]
      allow: [{ principals: ["*"] }]
    - methods: ["s.S/Get*"]
      deny: [{ principals: ["spiffe://td/ns/sandbox/*"] }]
      allow:
        - principals: ["spiffe://td/ns/web/sa/frontend"]
          jwt: { provider: corp, claims: { scope: "orders:read", "realm_access.roles": [admin, ops] } }
        - unauthenticated: true
          jwt: { provider: partner }
`,
  );
  const snapshot = compile([{ file: 'p.yaml', text }]);
  const facts = {
    method: 's.S/GetOrder',
    principal: 'spiffe://td/ns/web/sa/frontend',
    jwt: { provider: 'corp', payload: { scope: 'openid orders:read', realm_access: { roles: ['user'] } }, subject: undefined, expiresAt: 0 },
  };
  const x = snapshot.explain(facts);
  assert.equal(x.decision, snapshot.decide(facts));
  assert.equal(x.decision.reason, 'no_allow_match');
  assert.deepEqual(x.candidates, [
    { pattern: 's.S/Get*', kind: 'prefix', chosen: true },
    { pattern: '*', kind: 'any', chosen: false },
  ]);
  assert.deepEqual(
    x.entries.map((e) => [e.id, e.where, e.matched, e.conditions.map((c) => `${c.ok ? '+' : '-'}${c.key}=${c.seen}`)]),
    [
      ['p:grpc[1].deny[0]', 'p.yaml:10:14', false, ['-principals=spiffe://td/ns/web/sa/frontend']],
      [
        'p:grpc[1].allow[0]',
        'p.yaml:12:11',
        false,
        ['+principals=spiffe://td/ns/web/sa/frontend', '+jwt.provider=corp', '+jwt.claims.scope="openid orders:read"', '-jwt.claims.realm_access.roles=["user"]'],
      ],
      ['p:grpc[1].allow[1]', 'p.yaml:14:11', false, ['+unauthenticated=spiffe://td/ns/web/sa/frontend', '-jwt.provider=corp']],
    ],
  );
  assert.match(x.summary, /no allow entry for pattern s\.S\/Get\* matches/);

  const noJwt = snapshot.explain({ ...facts, jwt: undefined });
  assert.equal(noJwt.decision.reason, 'jwt_required');
  assert.match(noJwt.summary, /p:grpc\[1\]\.allow\[0\] would allow the call with a JWT from provider corp/);
  const unknown = snapshot.explain({ ...facts, method: 'x.Y/Z' });
  assert.equal(unknown.decision.reason, 'allowed');
  assert.equal(unknown.decision.pattern, '*');
});
