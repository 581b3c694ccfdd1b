// `meshward policy lint|test|explain` against real files in a temp folder: output and exit codes.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPolicyCommand } from './policy.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'meshward-policy-cli-'));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runPolicyCommand(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function write(path: string, text: string): string {
  const file = join(root, path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: api }
spec:
  grpc:
    - methods: ["meshward.demo.v1.Echo/*"]
      allow:
        - principals: ["spiffe://cluster.local/ns/web/sa/frontend"]
        - principals: ["spiffe://cluster.local/ns/ops/*"]
          jwt: { provider: corp, claims: { scope: "echo:write" } }
      deny: [{ principals: ["spiffe://cluster.local/ns/sandbox/*"] }]
      timeout: 2s
`;

// --- lint -----------------------------------------------------------------------------

test('lint: the example policies in policies/ are valid', async () => {
  const r = await run('lint', join(repo, 'policies'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^ok: \d+ policies, \d+ gRPC patterns, 1 GraphQL rule in \d+ files \(version [0-9a-f]{12}\)$/);
});

test('lint: each problem as file:line:col on stderr, exit 1', async () => {
  const file = write('lint-bad/p.yaml', POLICY.replace('timeout: 2s', 'timeout: 2').replace('ns/ops/*', 'ns/ops*'));
  const r = await run('lint', join(root, 'lint-bad'));
  assert.equal(r.code, 1);
  assert.deepEqual(r.err.split('\n'), [
    `${file}:9:24: /spec/grpc/0/allow/1/principals/0: "*" is allowed only as the last path segment, as "/*"; expected a SPIFFE ID such as "spiffe://cluster.local/ns/NS/sa/SA", a prefix ending in "/*" such as "spiffe://cluster.local/ns/NS/*", or "*", got "spiffe://cluster.local/ns/ops*"`,
    `${file}:12:16: /spec/grpc/0/timeout: expected a duration such as 250ms, 5s, 1m or 1m30s, got 2`,
    `2 problems in ${join(root, 'lint-bad')}`,
  ]);
  assert.equal(r.out, '');
});

test('lint --config checks JWT providers and defaults to the config policies', async () => {
  const dir = join(root, 'lint-config');
  write('lint-config/policies/api.yaml', POLICY);
  const config = writeConfig(dir, ['policies/'], 'partner');
  const r = await run('lint', '--config', config);
  assert.equal(r.code, 1);
  assert.match(r.err, /api\.yaml:10:28: \/spec\/grpc\/0\/allow\/1\/jwt\/provider: unknown JWT provider "corp"; known: partner/);
  const ok = await run('lint', '--config', writeConfig(dir, ['policies/'], 'corp'));
  assert.equal(ok.code, 0, ok.err);
});

test('lint --config warns (exit 0) about principals outside the trust domain: they can never match', async () => {
  const dir = join(root, 'lint-td');
  write('lint-td/policies/api.yaml', POLICY.replace('spiffe://cluster.local/ns/sandbox/*', 'spiffe://partner.example/ns/sandbox/*'));
  const r = await run('lint', '--config', writeConfig(dir, ['policies/']));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /^warning: .*api\.yaml:11:14: api:grpc\[0\]\.deny\[0\]: principal "spiffe:\/\/partner\.example\/ns\/sandbox\/\*" is outside the trust domain cluster\.local: it can never match a caller$/m);
  assert.doesNotMatch(r.err, /frontend|ns\/ops/, 'principals inside the trust domain are not flagged');
  assert.equal((await run('lint', join(dir, 'policies'))).err, '', 'without --config there is no trust domain to check against');
});

test('lint: usage errors exit 2', async () => {
  assert.equal((await run('lint')).code, 2);
  assert.equal((await run('lint', '--nope', 'x')).code, 2);
  assert.equal((await run()).code, 2);
  assert.equal((await run('frobnicate')).code, 2);
});

// --- test -----------------------------------------------------------------------------

test('test: the demo policy tests in policies/tests pass', async () => {
  const r = await run('test', join(repo, 'policies/tests/demo.policytest.yaml'));
  assert.equal(r.code, 0, `${r.out}\n${r.err}`);
  assert.match(r.out, /^(PASS .*\n)+\d+ passed, 0 failed$/);
  const folder = await run('test', join(repo, 'policies/tests'));
  assert.equal(folder.code, 0, `${folder.out}\n${folder.err}`);
});

const TEST_FILE = (cases: string) => `apiVersion: meshward.dev/v1alpha1
kind: PolicyTest
policies: [../policies/api.yaml]
providers: [corp]
cases:
${cases}`;

test('test: one line per case and a summary; a failing case exits 1 and says why', async () => {
  write('t1/policies/api.yaml', POLICY);
  const file = write(
    't1/tests/api.yaml',
    TEST_FILE(`  - name: frontend allowed
    call: { method: meshward.demo.v1.Echo/Unary, principal: spiffe://cluster.local/ns/web/sa/frontend }
    expect: allow
    rule: api:grpc[0]
  - name: ops with the scope
    call:
      method: /meshward.demo.v1.Echo/Unary
      principal: spiffe://cluster.local/ns/ops/sa/x
      jwt: { provider: corp, claims: { scope: "echo:read echo:write" } }
    expect: allow
  - name: ops without a token (wrongly expected to pass)
    call: { method: meshward.demo.v1.Echo/Unary, principal: spiffe://cluster.local/ns/ops/sa/x }
    expect: allow
  - name: ops without a token
    call: { method: meshward.demo.v1.Echo/Unary, principal: spiffe://cluster.local/ns/ops/sa/x }
    expect: deny
    code: UNAUTHENTICATED
    reason: jwt_required
`),
  );
  const r = await run('test', file);
  assert.equal(r.code, 1);
  assert.deepEqual(r.out.split('\n'), [
    `PASS ${file}: frontend allowed`,
    `PASS ${file}: ops with the scope`,
    `FAIL ${file}:16:5: ops without a token (wrongly expected to pass)`,
    '     expected  allow',
    '     got       deny UNAUTHENTICATED jwt_required (rule api:grpc[0])',
    '     why       api:grpc[0].allow[1] would allow the call with a JWT from provider corp, and none was presented',
    `PASS ${file}: ops without a token`,
    '3 passed, 1 failed',
  ]);
});

test('test: an invalid test file or policies it names is reported with its location; exit 1', async () => {
  write('t2/policies/api.yaml', POLICY.replace('provider: corp', 'provider: crop'));
  const file = write(
    't2/tests/bad.yaml',
    TEST_FILE(`  - name: x
    call: { method: Echo, principal: "spiffe://cluster.local" }
    expect: maybe
`),
  );
  const r = await run('test', file);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`bad\\.yaml:7:21: /cases/0/call/method: expected a method name "package\\.Service/Method", got "Echo"`));
  assert.match(r.err, /bad\.yaml:7:38: \/cases\/0\/call\/principal: expected a SPIFFE ID/);
  assert.match(r.err, /bad\.yaml:8:13: \/cases\/0\/expect: expected one of allow, deny, audit_deny, got "maybe"/);
  assert.match(r.out, /0 passed, 0 failed, 1 invalid file$/);

  const good = write('t2/tests/good.yaml', TEST_FILE('  - { name: x, call: { method: a.B/C }, expect: deny }\n'));
  const r2 = await run('test', good);
  assert.equal(r2.code, 1);
  assert.match(r2.err, /good\.yaml:3:11: the policies do not load:\n {2}.*api\.yaml:10:28: \/spec\/grpc\/0\/allow\/1\/jwt\/provider: unknown JWT provider "crop"/);
});

test('test: usage errors exit 2', async () => {
  assert.equal((await run('test')).code, 2);
});

// --- explain --------------------------------------------------------------------------

/** A sidecar config whose policies are `policies` (relative to `dir`) with one JWT provider. */
function writeConfig(dir: string, policies: string[], provider = 'corp'): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sidecar-${provider}.yaml`);
  writeFileSync(
    file,
    `apiVersion: meshward.dev/v1alpha1
kind: Sidecar
identity: { trustDomain: cluster.local, certFile: tls.crt, keyFile: tls.key, caFile: ca.crt }
inbound: { app: 127.0.0.1:8080 }
policies: ${JSON.stringify(policies)}
jwt:
  providers:
    - { name: ${provider}, issuer: "https://idp.example.com", jwksUri: "https://idp.example.com/jwks", audiences: [echo], algorithms: [RS256] }
`,
  );
  return file;
}

function token(payload: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(payload)}.c2lnbmF0dXJl`;
}

test('explain: allow → exit 0 with the pattern, rule and the entry that matched', async () => {
  const dir = join(root, 'explain');
  write('explain/policies/api.yaml', POLICY);
  const config = writeConfig(dir, ['policies']);
  const r = await run('explain', '--config', config, '--method', '/meshward.demo.v1.Echo/Unary', '--principal', 'spiffe://cluster.local/ns/web/sa/frontend');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^decision {3}ALLOW \(allowed\)$/m);
  assert.match(r.out, /^pattern {4}meshward\.demo\.v1\.Echo\/\* \(service\)$/m);
  assert.match(r.out, /^rule {7}api:grpc\[0\]$/m);
  assert.match(r.out, /^limits {5}timeout 2s$/m);
  assert.match(r.out, /^ {2}MATCH {4}api:grpc\[0\]\.allow\[0\] \(.*api\.yaml:8:11\)$/m);
});

test('explain: limits read as they are written (rate with its burst, durations in units)', async () => {
  const dir = join(root, 'explain-limits');
  write('explain-limits/policies/api.yaml', POLICY.replace('      timeout: 2s', '      timeout: 1m30s\n      rateLimit: { requests: 5, per: 1s, burst: 2, by: principal }'));
  const config = writeConfig(dir, ['policies']);
  const r = await run('explain', '--config', config, '--method', 'meshward.demo.v1.Echo/Unary', '--principal', 'spiffe://cluster.local/ns/web/sa/frontend');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^limits {5}rateLimit 5 per 1s, burst 2 by principal; timeout 1m30s$/m);
});

test('explain --jwt: decoded without verification, provider by issuer; the failed claim and the value seen; exit 1', async () => {
  const dir = join(root, 'explain');
  const config = writeConfig(dir, ['policies']);
  const jwt = token({ iss: 'https://idp.example.com', sub: 'alice', scope: 'echo:read' });
  const r = await run('explain', '--config', config, '--method', 'meshward.demo.v1.Echo/Unary', '--principal', 'spiffe://cluster.local/ns/ops/sa/x', '--jwt', jwt);
  assert.equal(r.code, 1);
  assert.match(r.out, /decoded WITHOUT verification/);
  assert.match(r.out, /^decision {3}DENY PERMISSION_DENIED \(no_allow_match\)$/m);
  assert.match(r.out, /^ {6}FAIL jwt\.claims\.scope: expected an item "echo:write" in the space-separated list; seen "echo:read"$/m);
  assert.match(r.out, /^ {6}ok {3}jwt\.provider: expected corp; seen corp$/m);
  assert.doesNotMatch(r.out, new RegExp(jwt.replace(/\./g, '\\.')), 'never prints the token');

  const wrongIssuer = token({ iss: 'https://evil.example.com', scope: 'echo:write' });
  const r2 = await run('explain', '--config', config, '--method', 'meshward.demo.v1.Echo/Unary', '--principal', 'spiffe://cluster.local/ns/ops/sa/x', '--jwt', wrongIssuer);
  assert.equal(r2.code, 1);
  assert.match(r2.out, /no configured provider has issuer "https:\/\/evil\.example\.com"/);
  assert.match(r2.out, /^decision {3}DENY UNAUTHENTICATED \(jwt_required\)$/m);
});

test('explain --claims: a JSON payload, attributed to the provider the rule names', async () => {
  const dir = join(root, 'explain');
  const config = writeConfig(dir, ['policies']);
  const r = await run('explain', '--config', config, '--method', 'meshward.demo.v1.Echo/Bidi', '--principal', 'spiffe://cluster.local/ns/ops/sa/x', '--claims', '{"scope":"echo:write"}');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /claims attributed to provider corp \(the claims have no iss\)/);
  const sandbox = await run('explain', '--config', config, '--method', 'meshward.demo.v1.Echo/Bidi', '--principal', 'spiffe://cluster.local/ns/sandbox/sa/x');
  assert.equal(sandbox.code, 1);
  assert.match(sandbox.out, /^ {2}MATCH {4}api:grpc\[0\]\.deny\[0\]/m);
  const unknown = await run('explain', '--config', config, '--method', 'other.v1.Svc/Call');
  assert.equal(unknown.code, 1);
  assert.match(unknown.out, /^decision {3}DENY PERMISSION_DENIED \(default_deny\)$/m);
  assert.match(unknown.out, /^principal {2}\(none: plaintext caller\)$/m);
});

const GRAPHQL_POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: shop }
spec:
  graphql:
    - path: /graphql
      allow: [ { principals: ["spiffe://cluster.local/ns/web/*"] } ]
      limits: { depth: 3 }
      fields:
        - fields: ["User.email"]
          allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
`;

test('explain --graphql: the analysis against each limit, the field rules met, exit 0 allow / 1 deny', async () => {
  const dir = join(root, 'explain-graphql');
  write('explain-graphql/policies/shop.yaml', GRAPHQL_POLICY);
  const config = writeConfig(dir, ['policies']);
  const schema = join(repo, 'demo', 'shop.graphql');
  writeFileSync(config, readFileSync(config, 'utf8').replace('inbound: { app: 127.0.0.1:8080 }', `inbound: { app: 127.0.0.1:8080, graphql: { schemaFile: ${JSON.stringify(schema)} } }`));
  const web = 'spiffe://cluster.local/ns/web/sa/frontend';
  const ok = await run('explain', '--config', config, '--principal', web, '--graphql', '{ me { name } }');
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /^endpoint {3}ALLOW \(allowed\) by shop:graphql\[0\]$/m);
  assert.match(ok.out, /^ {2}ok\s+depth\s+2 \/ 3 \(shop:graphql\[0\]\)$/m);
  assert.match(ok.out, /^decision {3}ALLOW$/m);
  const field = await run('explain', '--config', config, '--principal', web, '--graphql', '{ me { ...F } } fragment F on User { e: email }');
  assert.equal(field.code, 1);
  assert.match(field.out, /field {4}User\.email at me\.email: DENY \(no_allow_match\)/);
  assert.match(field.out, /^decision {3}DENY \(field_no_allow_match\)$/m);
  const deep = await run('explain', '--config', config, '--principal', web, '--graphql', '{ me { friends { friends { id } } } }');
  assert.equal(deep.code, 1);
  assert.match(deep.out, /OVER\s+depth\s+4 \/ 3/);
  const outsider = await run('explain', '--config', config, '--graphql', '{ me { name } }');
  assert.equal(outsider.code, 1);
  assert.match(outsider.out, /^endpoint {3}DENY \(no_allow_match\)/m);
});

test('explain: usage and config errors exit 2', async () => {
  const dir = join(root, 'explain');
  const config = writeConfig(dir, ['policies']);
  const usage = [
    ['explain', '--method', 'a.B/C'],
    ['explain', '--config', config],
    ['explain', '--config', config, '--method', 'not a method'],
    ['explain', '--config', config, '--method', 'a.B/C', '--principal', 'spiffe://cluster.local'],
    ['explain', '--config', config, '--method', 'a.B/C', '--jwt', 'x.y.z', '--claims', '{}'],
    ['explain', '--config', config, '--method', 'a.B/C', '--jwt', 'not-a-jwt'],
    ['explain', '--config', config, '--method', 'a.B/C', '--claims', '[1]'],
  ];
  for (const argv of usage) assert.equal((await run(...argv)).code, 2, argv.join(' '));
  const badConfig = write('explain/bad.yaml', 'apiVersion: meshward.dev/v1alpha1\nkind: Sidecar\n');
  const r = await run('explain', '--config', badConfig, '--method', 'a.B/C');
  assert.equal(r.code, 2);
  assert.match(r.err, /bad\.yaml:1:1: \/identity: missing required key "identity"/);
});
