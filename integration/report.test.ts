// `meshward report` (DESIGN §11) against real sidecars: one with every relaxed default the
// config can set (allowAnyAuthenticated, mtls: permissive, Redis failMode: open, GraphQL
// introspection allowed to `*`) plus a policy and a limit in audit mode, a `*` rule and a
// certificate near its end; one strict sidecar with a keyed audit log; one admin URL where
// nothing listens; an intact and a tampered audit log. The JSON lists a finding for each; the
// HTML page renders in headless Chromium (screenshot and PDF), self-contained, and shows them;
// Markdown too; --fail-on sets the exit code.

import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { SHOP_SCHEMA_FILE, startGraphqlApp, type GraphqlApp } from '../demo/graphql-app.js';
import type { ComplianceReport, Finding } from '../sidecar/report/report-model.js';
import { readAudit } from './support/audit-file.js';
import { launchChromium, renderFile } from './support/browser.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { adminClient, closeAllClients, echoClient, ping, unary } from './support/grpc-clients.js';
import { startRedis, type RedisServer } from './support/redis-server.js';
import { runMeshward, startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, issueSvid, makePki, type Pki } from './support/tls-fixtures.js';

const DAY_MS = 86_400_000;
const RELAXED_POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: relaxed }
spec:
  grpc:
    - methods: ["meshward.demo.v1.Echo/Unary"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 5, per: 1s, by: principal, mode: audit }
    - methods: ["*"]
      allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
  graphql:
    - path: /graphql
      allow: [ { principals: ["*"] } ]
      introspection: { allow: [ { principals: ["*"] } ] }
---
apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: trial }
spec:
  mode: audit
  grpc:
    - methods: ["meshward.demo.v1.Admin/Ping"]
      allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
      rateLimit: { requests: 10, per: 1s, by: global }
`;

let dir: string;
let pki: Pki;
let app: EchoApp;
let shop: GraphqlApp;
let redis: RedisServer;
let relaxed: SidecarProcess;
let strict: SidecarProcess;
let browser: Browser | undefined;
const logs = { relaxed: '', strict: '', tampered: '' };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-report-'));
  pki = await makePki(join(dir, 'pki'));
  [app, shop, redis] = await Promise.all([startEchoApp(), startGraphqlApp(), startRedis()]);
  const now = Date.now();
  // 10% of its lifetime left: due for rotation.
  const ageing = await issueSvid(pki.dir, 'ageing', pki.ca, { spiffeId: 'spiffe://cluster.local/ns/shop/sa/legacy', notBefore: new Date(now - 9 * DAY_MS), notAfter: new Date(now + DAY_MS) });

  const a = join(dir, 'relaxed');
  await mkdir(join(a, 'policies'), { recursive: true });
  await writeFile(join(a, 'policies', 'relaxed.yaml'), RELAXED_POLICY);
  const aConfig = await writeSidecarConfig(a, {
    appPort: app.port,
    pki,
    svid: ageing,
    mtls: 'permissive',
    allowAnyAuthenticated: true,
    extra: [
      'policies: [policies/]',
      `rateLimit: { store: redis, redis: { url: ${JSON.stringify(redis.url)}, failMode: open } }`,
      'audit: { file: audit.log }',
      'jwt:',
      '  providers:',
      '    - { name: corp, issuer: "http://127.0.0.1:9/issuer", jwksUri: "http://127.0.0.1:9/jwks.json", audiences: [orders], algorithms: [ES256] }',
    ].join('\n'),
  });
  // graphql goes under inbound: write it into the file's inbound section.
  await writeFile(aConfig, (await readFile(aConfig, 'utf8')).replace('inbound:\n', `inbound:\n  graphql: { path: /graphql, app: "127.0.0.1:${shop.port}", schemaFile: ${JSON.stringify(SHOP_SCHEMA_FILE)} }\n`));

  const b = join(dir, 'strict');
  await mkdir(b);
  await writeFile(join(dir, 'audit.key'), 'a report test key, at least 16 bytes\n');
  const bConfig = await writeSidecarConfig(b, { appPort: app.port, pki, extra: `audit: { file: audit.log, hmacKeyFile: ${JSON.stringify(join(dir, 'audit.key'))} }\n` });

  [relaxed, strict] = await Promise.all([startSidecar(aConfig), startSidecar(bConfig)]);
  logs.relaxed = join(a, 'audit.log');
  logs.strict = join(b, 'audit.log');

  // Records for both audit logs: the frontend calling Admin/Ping is an audit_deny on the relaxed
  // sidecar (its policy is in audit mode) and a denial on the strict one (no policies).
  for (const s of [relaxed, strict]) {
    const client = adminClient(s.inbound, clientTls(pki, pki.client), { servername: 'orders' });
    for (let i = 0; i < 3; i++) assert.equal((await ping(client)).status, s === strict ? 7 : 0);
  }
  assert.equal((await unary(echoClient(strict.inbound, clientTls(pki, pki.client), { servername: 'orders' }), { message: 'x' })).status, 7);
  for (const file of [logs.relaxed, logs.strict]) {
    for (let i = 0; i < 200 && (await readAudit(file)).length < 3; i++) await new Promise((r) => setTimeout(r, 25));
  }
  logs.tampered = join(dir, 'tampered.log');
  await copyFile(logs.relaxed, logs.tampered);
  const lines = (await readFile(logs.tampered, 'utf8')).split('\n');
  lines[1] = lines[1]!.replace('"decision":"audit_deny"', '"decision":"allow"').replace('"decision":"deny"', '"decision":"allow"');
  await writeFile(logs.tampered, lines.join('\n'));
  await runMeshward(['--help']); // warms the built CLI's module cache on a cold machine
});

after(async () => {
  closeAllClients();
  await browser?.close();
  await stopAll();
  await Promise.all([app?.close(), shop?.close(), redis?.stop()]);
});

const admin = (s: SidecarProcess): string => `http://${s.admin}`;
const find = (r: ComplianceReport, id: string, subject?: string): Finding | undefined => r.findings.find((f) => f.id === id && (subject === undefined || f.subject === subject));

test('JSON: a finding for each relaxed default and each weakness, at its severity; audit integrity; SBOM', async () => {
  const sbom = join(dir, 'sbom.cdx.json');
  const made = await runMeshwardScript(['scripts/write-sbom.mjs', sbom]);
  assert.equal(made.code, 0, made.stderr);
  const run = await runMeshward(
    ['report', '--admin', admin(relaxed), '--admin', admin(strict), '--admin', 'http://127.0.0.1:9', '--audit', logs.relaxed, '--audit', logs.tampered, '--format', 'json', '--sbom', sbom],
    { timeoutMs: 30_000 },
  );
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as ComplianceReport;
  const legacy = 'spiffe://cluster.local/ns/shop/sa/legacy';
  const expected: Array<[string, string]> = [
    ['mtls-permissive', 'high'],
    ['allow-any-authenticated', 'high'],
    ['fail-open', 'medium'],
    ['introspection-open', 'medium'],
    ['policy-audit-mode', 'medium'],
    ['limit-audit-mode', 'medium'],
    ['wildcard-rule', 'medium'],
    ['certificate-expiring', 'medium'],
    ['no-rate-limit', 'low'],
    ['audit-unkeyed', 'low'],
  ];
  for (const [id, severity] of expected) assert.equal(find(r, id, legacy)?.severity, severity, `${id} for the relaxed sidecar: ${JSON.stringify(r.findings.map((f) => [f.id, f.subject]))}`);
  for (const f of r.findings) assert.ok(f.fix.length > 0 && !f.fix.includes('\n'), `one-line fix for ${f.id}`);
  const strictId = 'spiffe://cluster.local/ns/shop/sa/orders';
  for (const id of ['mtls-permissive', 'allow-any-authenticated', 'fail-open', 'audit-unkeyed', 'certificate-expiring']) assert.equal(find(r, id, strictId), undefined, `${id} not for the strict sidecar`);
  assert.equal(find(r, 'sidecar-unreachable', 'http://127.0.0.1:9')?.severity, 'high');
  assert.equal(find(r, 'policy-audit-mode', legacy)?.title.includes('trial'), true);
  // Ranked: worst first.
  const ranks = r.findings.map((f) => ['low', 'medium', 'high', 'critical'].indexOf(f.severity));
  assert.deepEqual(ranks, [...ranks].sort((x, y) => y - x));

  // The sidecar facts behind them.
  const [a, b] = r.sidecars;
  assert.equal(a!.mtls, 'permissive');
  assert.equal(b!.mtls, 'strict');
  assert.ok(a!.certificate!.lifetimeLeft! < 0.2 && a!.certificate!.lifetimeLeft! > 0.05);
  assert.deepEqual(a!.jwtProviders.map((p) => [p.name, p.algorithms]), [['corp', ['ES256']]]);
  assert.equal(a!.graphql[0]!.introspectionToAnyone, true);
  assert.deepEqual(a!.rules!.map((x) => x.pattern).sort(), ['*', 'meshward.demo.v1.Admin/Ping', 'meshward.demo.v1.Echo/Unary']);
  assert.equal(a!.rules!.at(-1)!.pattern, '*', 'most specific first');
  assert.ok(a!.versions.meshward !== undefined && a!.versions.node === process.version);
  assert.ok(b!.audit.keyed);
  // Neither has /catalog today unless the catalog feature is built in: either way it is said, not guessed.
  for (const s of [a!, b!]) assert.ok(s.catalog !== undefined || s.unavailable.some((u) => u.startsWith('GET /catalog')), 'catalog present or reported missing');

  // Audit logs: the sidecar's intact, the tampered copy broken at line 2 (critical).
  assert.deepEqual(r.audit.map((x) => x.ok), [true, false]);
  assert.ok(r.audit[0]!.records >= 3 && !r.audit[0]!.keyed);
  const broken = find(r, 'audit-chain-broken');
  assert.equal(broken?.severity, 'critical');
  assert.match(broken!.detail, /tampered\.log:2: edited: /);
  assert.equal(r.findings[0]!.id, 'audit-chain-broken');

  // SBOM: CycloneDX from npm sbom, production dependencies, carried whole in the JSON.
  assert.equal(r.sbom.format, 'CycloneDX 1.5');
  assert.ok(r.sbom.components.some((c) => c.name === 'zod' && c.version.length > 0));
  assert.ok(!r.sbom.components.some((c) => c.name === 'playwright-core'), 'dev dependencies are not in the image');
  assert.equal((r.sbom.document as { bomFormat: string }).bomFormat, 'CycloneDX');
});

test('HTML: one self-contained page that renders in Chromium and shows every finding; Markdown; --fail-on', async () => {
  const out = join(dir, 'report.html');
  const run = await runMeshward(['report', '--admin', admin(relaxed), '--admin', admin(strict), '--audit', logs.tampered, '--out', out, '--fail-on', 'critical'], { timeoutMs: 30_000 });
  assert.equal(run.code, 1, 'a broken audit chain is critical: --fail-on critical exits 1');
  assert.match(run.stderr, /wrote .*report\.html \(html\): \d+ findings \(1 critical/);
  const html = await readFile(out, 'utf8');
  assert.doesNotMatch(html, /<script|<link|<img|@import|url\(|src=/i, 'nothing loaded from elsewhere');

  browser = await launchChromium();
  const page = await renderFile(browser, out, join(dir, 'report.png'));
  assert.deepEqual(page.otherRequests, []);
  assert.ok(page.screenshot.length > 10_000, 'a screenshot was taken');
  assert.equal(page.pdf.subarray(0, 5).toString(), '%PDF-');
  const text = page.text;
  assert.match(text, /meshward compliance report/);
  for (const title of [
    'mTLS is permissive',
    'Calls no rule matches are allowed for any verified SPIFFE ID',
    'Rate limits fail open',
    'GraphQL introspection on /graphql is allowed to anyone',
    'Policy trial is in audit mode',
    'Limits on meshward.demo.v1.Echo/Unary are in audit mode',
    'A `*` rule covers every method',
    'The workload certificate is due for rotation',
    'The audit log hash chain is broken',
  ]) assert.ok(text.includes(title), `rendered page shows "${title}"`);
  assert.match(text, /CRITICAL/); // severity badges (uppercase by CSS)
  assert.match(text, /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/orders/);
  assert.match(text, /Audit log integrity/);

  const md = await runMeshward(['report', '--admin', admin(strict), '--audit', logs.strict, '--hmac-key-file', join(dir, 'audit.key'), '--format', 'markdown', '--fail-on', 'high'], { timeoutMs: 30_000 });
  assert.equal(md.code, 0, `the strict sidecar has nothing high: ${md.stderr}`);
  assert.match(md.stdout, /^# meshward compliance report/m);
  assert.match(md.stdout, /\| intact \| \d+ \(seq 1\.\.\d+\) \| HMAC-SHA-256 \|/);
  assert.match(md.stdout, /\| Severity \| Finding \| Concerns \| Fix \|/);

  const usage = await runMeshward(['report']);
  assert.equal(usage.code, 2);
  assert.equal((await runMeshward(['report', '--admin', admin(strict), '--fail-on', 'severe'])).code, 2);
  const help = await runMeshward(['report', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--fail-on/);
});

/** Runs a repository script with this Node (the SBOM writer). */
function runMeshwardScript(args: string[]) {
  return runMeshward(args.slice(1), { cli: args[0], timeoutMs: 60_000 });
}
