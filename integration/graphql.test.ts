// GraphQL awareness end to end (issue 5): the built sidecar in front of a real graphql-js
// app that records every document it receives. Each limit at and over its bound, field rules
// through every spelling, introspection, the known limiter bypasses, operation choice, GET
// and batches, JWT on a field, cost budgets — and, at the end, proof that no refused
// document ever reached the app.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SHOP_SCHEMA_FILE, startGraphqlApp, type GraphqlApp } from '../demo/graphql-app.js';
import { auditAfter, readAudit } from './support/audit-file.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { gql, type GqlRequestOptions, type GqlResponse, type GqlTls } from './support/graphql-client.js';
import { JwksServer } from './support/jwks-server.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, issueSvid, makePki, type Pki } from './support/tls-fixtures.js';

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: shop }
spec:
  graphql:
    - path: /graphql
      allow:
        - principals: ["spiffe://cluster.local/ns/web/*", "spiffe://cluster.local/ns/ops/*"]
      deny:
        - principals: ["spiffe://cluster.local/ns/sandbox/*"]
      limits: { depth: 5, cost: 400, aliases: 4, rootFields: 4, tokens: 120, directives: 3, batch: 3, bodyBytes: 4096 }
      introspection:
        allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
      fields:
        - fields: ["User.email", "Report.*"]
          allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
        - fields: ["Mutation.deleteOrder"]
          allow: [ { jwt: { provider: corp, claims: { roles: admin } } } ]
`;

const BUDGET_POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: budget }
spec:
  graphql:
    - path: /graphql
      allow: [ { principals: ["*"] } ]
      costBudget: { points: 100, per: 1m, by: principal }
      rateLimit: { requests: 5, per: 1m, by: principal }
`;

let dir: string;
let pki: Pki;
let app: GraphqlApp;
let jwks: JwksServer;
let sidecar: SidecarProcess;
let budgetSidecar: SidecarProcess;
let web: GqlTls;
let ops: GqlTls;
let sandbox: GqlTls;
let auditFile: string;
/** Every document a test expected to reach the app. */
const allowed = new Set<string>();

async function startShopSidecar(name: string, policy: string, audit: string): Promise<SidecarProcess> {
  const policyDir = join(dir, `${name}-policies`);
  await mkdir(policyDir);
  await writeFile(join(policyDir, 'shop.yaml'), policy);
  const config = await writeSidecarConfig(dir, {
    appPort: 1, // no gRPC app: this sidecar only serves GraphQL
    pki,
    fileName: `${name}.yaml`,
    extra: [
      `policies: [${name}-policies/]`,
      'jwt:',
      '  providers:',
      `    - { name: corp, issuer: "${jwks.origin}", jwksUri: "${jwks.jwksUri}", audiences: [shop], algorithms: [RS256] }`,
      `audit: { file: ${audit} }`,
    ].join('\n'),
  });
  // inbound.graphql goes inside the inbound section the fixture wrote.
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(config, 'utf8');
  const graphql = `  graphql: { path: /graphql, app: "127.0.0.1:${app.port}", schemaFile: ${JSON.stringify(SHOP_SCHEMA_FILE)} }\n`;
  await writeFile(config, text.replace('admin:\n', `${graphql}admin:\n`));
  return startSidecar(config);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-graphql-'));
  pki = await makePki(join(dir, 'pki'));
  const [opsSvid, sandboxSvid] = await Promise.all([
    issueSvid(pki.dir, 'ops', pki.ca, { spiffeId: 'spiffe://cluster.local/ns/ops/sa/oncall' }),
    issueSvid(pki.dir, 'sandbox', pki.ca, { spiffeId: 'spiffe://cluster.local/ns/sandbox/sa/toy' }),
  ]);
  web = clientTls(pki, pki.client);
  ops = clientTls(pki, opsSvid);
  sandbox = clientTls(pki, sandboxSvid);
  app = await startGraphqlApp();
  jwks = await JwksServer.start();
  auditFile = join(dir, 'audit.log');
  sidecar = await startShopSidecar('main', POLICY, 'audit.log');
  budgetSidecar = await startShopSidecar('budget', BUDGET_POLICY, 'budget-audit.log');
});

after(async () => {
  await stopAll();
  await app?.close();
  await jwks?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A GraphQL-over-HTTP client that accepts application/graphql-response+json (the spec's media type). */
const post = (query: string, opts: GqlRequestOptions & { operationName?: string; variables?: Record<string, unknown> } = {}) =>
  gql(sidecar.inbound, {
    tls: web,
    ...opts,
    headers: { accept: 'application/graphql-response+json', ...opts.headers },
    body: opts.body ?? { query, operationName: opts.operationName, variables: opts.variables },
  });

/** The call reached the app with this document and got its answer. */
async function expectServed(query: string, opts: Parameters<typeof post>[1] = {}): Promise<GqlResponse> {
  allowed.add(query);
  const before = app.documents().length;
  const r = await post(query, opts);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['x-app'], 'shop', 'the answer comes from the app');
  assert.equal(app.documents().length, before + 1);
  assert.equal(app.documents().at(-1), query);
  return r;
}

/** Refused with `status` and `code`; the app saw nothing. */
async function expectRefused(query: string, status: number, code: string, opts: Parameters<typeof post>[1] = {}): Promise<GqlResponse> {
  const before = app.documents().length;
  const r = await post(query, opts);
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.errors?.[0]?.extensions?.code, code, r.text);
  assert.equal(app.documents().length, before, 'a refused document never reaches the app');
  assert.doesNotMatch(r.text, /did you mean/i);
  if (query.length > 20) assert.ok(!r.text.includes(query), 'the reply does not echo the query');
  return r;
}

describe('GraphQL over HTTP', () => {
  test('HTTP/1.1 and HTTP/2 over mutual TLS reach the app; the app sees the caller asserted', async () => {
    const r = await expectServed('{ me { name } }');
    assert.deepEqual(r.json, { data: { me: { name: 'Ada' } } });
    assert.equal(app.requests.at(-1)!.headers['x-meshward-principal'], 'spiffe://cluster.local/ns/web/sa/frontend');
    const h2 = await gql(sidecar.inbound, { tls: web, h2: true, body: { query: '{ users(first: 2) { name } }' } });
    allowed.add('{ users(first: 2) { name } }');
    assert.equal(h2.status, 200, h2.text);
    assert.equal(h2.json.data.users.length, 2);
  });

  test('GET serves queries; a mutation over GET is 405 with Allow', async () => {
    allowed.add('{ me { id } }');
    const r = await gql(sidecar.inbound, { tls: web, method: 'GET', query: `query=${encodeURIComponent('{ me { id } }')}` });
    assert.equal(r.status, 200, r.text);
    const before = app.documents().length;
    const m = await gql(sidecar.inbound, { tls: web, method: 'GET', query: `query=${encodeURIComponent('mutation { placeOrder(item: "x") { id } }')}` });
    assert.equal(m.status, 405);
    assert.equal(m.headers.allow, 'GET, POST');
    assert.equal(app.documents().length, before);
  });

  test('malformed requests: bad JSON 400, wrong media type 415, PUT 405, unknown path 404, body over the cap 413', async () => {
    assert.equal((await post('', { body: '{"query": ' })).status, 400);
    assert.equal((await post('', { body: '{"query":"{ me { name } }"}', headers: { 'content-type': 'text/plain' } })).status, 415);
    assert.equal((await post('', { method: 'PUT', body: { query: '{ me { name } }' } })).status, 405);
    assert.equal((await gql(sidecar.inbound, { tls: web, path: '/other', body: { query: '{ me { name } }' } })).status, 404);
    const big = await post('', { body: { query: `{ me { name } } #${'x'.repeat(5000)}` } });
    assert.equal(big.status, 413);
    assert.equal(big.json.errors[0].extensions.code, 'BODY_TOO_LARGE');
  });

  test('a document that does not parse or fails validation is 400 (application/graphql-response+json), without suggestions', async () => {
    await expectRefused('{ me { name }', 400, 'GRAPHQL_PARSE_FAILED');
    await expectRefused('{ me { nam } }', 400, 'GRAPHQL_VALIDATION_FAILED');
    await expectRefused('{ me(id: "u1") { name } }', 400, 'GRAPHQL_VALIDATION_FAILED'); // unknown argument
  });

  test('with Accept: application/json, a refused document is 200 with errors (GraphQL over HTTP); never reaching the app', async () => {
    for (const [query, code] of [
      ['{ me { name }', 'GRAPHQL_PARSE_FAILED'],
      ['{ me { nam } }', 'GRAPHQL_VALIDATION_FAILED'],
      ['{ me { friends(first: 1) { friends(first: 1) { friends(first: 1) { friends(first: 1) { name } } } } } }', 'MAX_DEPTH_LIMIT'],
    ]) {
      for (const accept of ['application/json', undefined]) {
        const before = app.documents().length;
        const r = await gql(sidecar.inbound, { tls: web, headers: accept === undefined ? {} : { accept }, body: { query } });
        assert.equal(r.status, 200, `${query} (accept ${accept}): ${r.text}`);
        assert.match(String(r.headers['content-type']), /^application\/json/);
        assert.equal(r.json?.errors?.[0]?.extensions?.code, code);
        assert.equal(r.json?.data, undefined);
        assert.equal(app.documents().length, before, 'a refused document never reaches the app');
      }
    }
  });

  test('operationName chooses; missing or unknown is 400, never "the first one"', async () => {
    const doc = 'query A { me { name } } query B { me { id } }';
    await expectRefused(doc, 400, 'OPERATION_NAME_REQUIRED');
    await expectRefused(doc, 400, 'OPERATION_NOT_FOUND', { operationName: 'C' });
    const r = await expectServed(doc, { operationName: 'B' });
    assert.deepEqual(r.json, { data: { me: { id: 'u1' } } });
  });

  test('the endpoint policy: a denied principal gets 403 FORBIDDEN', async () => {
    const before = app.documents().length;
    const r = await gql(sidecar.inbound, { tls: sandbox, body: { query: '{ me { name } }' } });
    assert.equal(r.status, 403);
    assert.equal(r.json.errors[0].extensions.code, 'FORBIDDEN');
    assert.equal(app.documents().length, before);
  });
});

describe('limits, each at and over its bound', () => {
  test('depth 5', async () => {
    await expectServed('{ me { friends(first: 1) { friends(first: 1) { friends(first: 1) { name } } } } }');
    const r = await expectRefused('{ me { friends(first: 1) { friends(first: 1) { friends(first: 1) { friends(first: 1) { name } } } } } }', 400, 'MAX_DEPTH_LIMIT');
    assert.deepEqual(r.json.errors[0].extensions, { code: 'MAX_DEPTH_LIMIT', limit: 5, actual: 6 });
  });

  test('cost 400, list sizes from slicing arguments and variables', async () => {
    await expectServed('{ users(first: 40) { friends(first: 9) { id } } }');
    const r = await expectRefused('{ users(first: 41) { friends(first: 9) { id } } }', 400, 'COST_LIMIT');
    assert.deepEqual(r.json.errors[0].extensions, { code: 'COST_LIMIT', limit: 400, actual: 410 });
    const byVariable = 'query Q($n: Int) { users(first: $n) { id } }';
    await expectServed(byVariable, { variables: { n: 400 } });
    await expectRefused(byVariable, 400, 'COST_LIMIT', { variables: { n: 401 } });
    // No slicing argument: assumedSize (50) × (1 + 10 friends by default) = 550.
    await expectRefused('{ users { friends { name } } }', 400, 'COST_LIMIT');
  });

  test('aliases 4 (an alias bomb is refused)', async () => {
    await expectServed('{ me { a: name b: name c: name d: name } }');
    await expectRefused('{ me { a: name b: name c: name d: name e: name } }', 400, 'MAX_ALIASES_LIMIT');
  });

  test('root fields 4', async () => {
    await expectServed('{ me { id } user(id: "u2") { id } users(first: 1) { id } orders(first: 1) { id } }');
    await expectRefused('{ me { id } user(id: "u2") { id } users(first: 1) { id } orders(first: 1) { id } node(id: "u1") { id } }', 400, 'MAX_ROOT_FIELDS_LIMIT');
  });

  test('directives 3', async () => {
    await expectServed('{ me { name @include(if: true) id @skip(if: false) friends(first: 1) @include(if: true) { id } } }');
    await expectRefused('{ me { name @include(if: true) id @skip(if: false) friends(first: 1) @include(if: true) { id @skip(if: false) } } }', 400, 'MAX_DIRECTIVES_LIMIT');
  });

  test('tokens 120, counted before validation', async () => {
    // "{ me {" + N names + "} }" is N + 5 tokens.
    await expectServed(`{ me { ${'name '.repeat(115)}} }`);
    const r = await expectRefused(`{ me { ${'name '.repeat(116)}} }`, 400, 'MAX_TOKENS_LIMIT');
    assert.equal(r.json.errors[0].extensions.limit, 120);
  });

  test('duplicated fields are each counted', async () => {
    await expectServed('{ me { friends { friends { id } } } }');
    await expectRefused(`{ me { ${'friends { friends { id } } '.repeat(4)}} }`, 400, 'COST_LIMIT');
  });

  test('batch 3: each operation counted and checked', async () => {
    allowed.add('{ me { name } }').add('{ me { id } }');
    const ok = await post('', { body: [{ query: '{ me { name } }' }, { query: '{ me { id } }' }, { query: '{ me { name } }' }] });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.length, 3);
    const before = app.documents().length;
    const four = await post('', { body: Array.from({ length: 4 }, () => ({ query: '{ me { name } }' })) });
    assert.equal(four.status, 400);
    assert.deepEqual(four.json.errors[0].extensions, { code: 'BATCH_LIMIT', limit: 3, actual: 4 });
    // A batch hiding a forbidden operation is refused whole.
    const hiding = await post('', { body: [{ query: '{ me { name } }' }, { query: '{ me { email } }' }] });
    assert.equal(hiding.status, 403);
    assert.equal(hiding.json.errors[0].extensions.path, 'me.email');
    assert.equal(app.documents().length, before);
  });
});

describe('field authorization', () => {
  test('User.email is refused through every spelling', async () => {
    const spellings = [
      '{ me { email } }',
      '{ me { e: email } }',
      '{ me { ...F } } fragment F on User { email }',
      '{ node(id: "u1") { ... on User { email } } }',
      '{ node(id: "u1") { ... on Account { email } } }',
      '{ account(id: "u1") { email } }',
      '{ search(text: "a") { ... on User { email } } }',
      '{ me { name email @include(if: false) } }',
      '{ me { name email @skip(if: true) } }',
      '{ me { ...A } } fragment A on User { friends(first: 1) { ...B } } fragment B on Account { email }',
    ];
    for (const q of spellings) {
      const r = await expectRefused(q, 403, 'FORBIDDEN');
      assert.match(r.json.errors[0].extensions.path, /email$/, q);
    }
  });

  test('Type.* covers every field of a type; the allowed principal gets them', async () => {
    await expectRefused('{ report { revenue } }', 403, 'FORBIDDEN');
    allowed.add('{ me { email } }').add('{ report { revenue } }');
    for (const q of ['{ me { email } }', '{ report { revenue } }']) {
      const r = await gql(sidecar.inbound, { tls: ops, body: { query: q } });
      assert.equal(r.status, 200, r.text);
    }
  });

  test('a field rule with a JWT condition: no token 401 + WWW-Authenticate, wrong claims 403, right claims pass', async () => {
    const q = 'mutation { deleteOrder(id: "o1") }';
    const none = await expectRefused(q, 401, 'UNAUTHENTICATED');
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    const claims = { iss: jwks.origin, aud: 'shop', sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 };
    await expectRefused(q, 403, 'FORBIDDEN', { headers: { authorization: `Bearer ${await jwks.sign({ ...claims, roles: ['viewer'] })}` } });
    await expectServed(q, { headers: { authorization: `Bearer ${await jwks.sign({ ...claims, roles: ['admin'] })}` } });
  });
});

describe('introspection and known bypasses', () => {
  test('introspection is refused unless a rule allows the caller, also through a fragment', async () => {
    await expectRefused('{ __schema { queryType { name } } }', 403, 'FORBIDDEN');
    await expectRefused('{ __type(name: "User") { name } }', 403, 'FORBIDDEN');
    await expectRefused('{ ...I } fragment I on Query { __schema { queryType { name } } }', 403, 'FORBIDDEN');
    await expectServed('{ __typename me { __typename } }');
    allowed.add('{ __schema { queryType { name } } }');
    const r = await gql(sidecar.inbound, { tls: ops, body: { query: '{ __schema { queryType { name } } }' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.__schema.queryType.name, 'Query');
  });

  test('an operation or fragment named __schema fools no limit', async () => {
    await expectServed('query __schema { me { name } }');
    await expectRefused('query __schema { me { friends(first: 1) { friends(first: 1) { friends(first: 1) { friends(first: 1) { name } } } } } }', 400, 'MAX_DEPTH_LIMIT');
    await expectRefused('{ me { ...__schema } } fragment __schema on User { friends(first: 1) { friends(first: 1) { friends(first: 1) { friends(first: 1) { id } } } } }', 400, 'MAX_DEPTH_LIMIT');
  });

  test('a fragment cycle is refused at once', async () => {
    const started = performance.now();
    await expectRefused('{ me { ...A } } fragment A on User { friends { ...B } } fragment B on User { friends { ...A } }', 400, 'GRAPHQL_VALIDATION_FAILED');
    assert.ok(performance.now() - started < 2000);
  });

  test('deep fragments reused many times are costed, not expanded', async () => {
    const bomb =
      '{ me { ...A } } fragment A on User { friends { ...B ...B ...B ...B } } fragment B on User { friends { ...C ...C ...C ...C } } ' +
      'fragment C on User { friends { ...D ...D ...D ...D } } fragment D on User { id }';
    const started = performance.now();
    await expectRefused(bomb, 400, 'COST_LIMIT');
    assert.ok(performance.now() - started < 2000);
  });
});

describe('cost budgets and rate limits', () => {
  test('a cost budget refuses with 429 and Retry-After once the points are spent', async () => {
    const q = '{ users(first: 40) { id } }'; // cost 40; the budget is 100 points per minute
    allowed.add(q);
    const call = () => gql(budgetSidecar.inbound, { tls: web, body: { query: q } });
    assert.equal((await call()).status, 200);
    assert.equal((await call()).status, 200);
    const before = app.documents().length;
    const audits = (await readAudit(join(dir, 'budget-audit.log'))).length;
    const refused = await call();
    assert.equal(refused.status, 429, refused.text);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal(refused.json.errors[0].extensions.code, 'RATE_LIMITED');
    assert.equal(app.documents().length, before);
    const [record] = await auditAfter(join(dir, 'budget-audit.log'), audits, 1);
    assert.equal(record?.reason, 'cost_budget_exceeded');
    assert.equal(record?.protocol, 'graphql');
    assert.equal(record?.status, 429, 'the HTTP status the caller saw');
    assert.equal(record?.graphql?.cost, 40);
  });

  test('the endpoint rate limit counts calls (5 per minute)', async () => {
    allowed.add('{ __typename }');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await gql(budgetSidecar.inbound, { tls: web, body: { query: '{ __typename }' } })).status);
    // Three calls above plus these: the 6th call in the minute is refused.
    assert.deepEqual(statuses.slice(0, 2), [200, 200]);
    assert.equal(statuses[2], 429);
  });
});

describe('records', () => {
  test('a refusal is audited with the GraphQL operation and no query text', async () => {
    const audits = (await readAudit(auditFile)).length;
    await expectRefused('query Leak { me { email } }', 403, 'FORBIDDEN');
    const [record] = await auditAfter(auditFile, audits, 1);
    assert.equal(record?.protocol, 'graphql');
    assert.equal(record?.method, '/graphql');
    assert.equal(record?.decision, 'deny');
    assert.equal(record?.reason, 'field_no_allow_match');
    assert.equal(record?.status, 403, 'the HTTP status the caller saw, not a gRPC code');
    assert.deepEqual(record?.graphql, { operation_type: 'query', operation_name: 'Leak', cost: null, operations: 1 });
    assert.ok(!JSON.stringify(record).includes('email }'), 'no query text in the audit log');
  });

  test('an introspection denial is audited with HTTP 403', async () => {
    const audits = (await readAudit(auditFile)).length;
    await expectRefused('{ __schema { queryType { name } } }', 403, 'FORBIDDEN'); // web may not; ops may
    const [record] = await auditAfter(auditFile, audits, 1);
    assert.equal(record?.reason, 'introspection_denied');
    assert.equal(record?.status, 403);
  });

  test('/policies shows the GraphQL schema in use; /metrics counts GraphQL calls under protocol="graphql"', async () => {
    const policies = (await (await fetch(`http://${sidecar.admin}/policies`)).json()) as { graphqlSchema?: { file: string; lastError: unknown } };
    assert.equal(policies.graphqlSchema?.file, SHOP_SCHEMA_FILE);
    assert.equal(policies.graphqlSchema?.lastError, undefined);
    const metrics = await (await fetch(`http://${sidecar.admin}/metrics`)).text();
    assert.match(metrics, /meshward_requests_total\{protocol="graphql",direction="inbound",method="\/graphql",code="http_200",decision="allow"\} [1-9]/);
    assert.match(metrics, /meshward_requests_total\{protocol="graphql",direction="inbound",method="\/graphql",code="http_400",decision="deny"\} [1-9]/);
  });

  test('no refused document ever reached the app', () => {
    const seen = app.documents();
    assert.ok(seen.length > 20);
    for (const doc of seen) assert.ok(allowed.has(doc), `the app received a document no test allowed: ${doc}`);
  });
});
