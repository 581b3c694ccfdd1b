// The report's checks and renderers on hand-made admin answers: coverage of declared methods
// from /catalog (in the shapes a catalog may take), shadow/zombie/deprecated, undeclared
// methods allowed, certificates, alerts, --fail-on, and escaping in HTML and Markdown.
// integration/report.test.ts runs the real thing against sidecars and Chromium.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GrpcRuleView } from '../policy/rules-view.js';
import type { AdminSnapshot } from './collect.js';
import { failsAt, rankFindings, sidecarFindings } from './findings.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import type { ComplianceReport, Finding } from './report-model.js';
import { coverage, declaredMethods, sidecarSection } from './sidecar-facts.js';

const NOW = Date.parse('2026-12-01T00:00:00Z');

function rule(pattern: string, opts: { mode?: 'enforce' | 'audit'; rate?: 'enforce' | 'audit' } = {}): GrpcRuleView {
  return {
    pattern,
    kind: pattern === '*' ? 'any' : pattern.endsWith('/*') ? 'service' : pattern.endsWith('*') ? 'prefix' : 'exact',
    mode: opts.mode ?? 'enforce',
    sources: [{ id: 'p:grpc[0]', policy: 'p', mode: opts.mode ?? 'enforce', where: 'p.yaml:5:7' }],
    allow: [{ id: 'p:grpc[0].allow[0]', where: 'p.yaml:6:9', principals: ['spiffe://td/ns/web/sa/frontend'], unauthenticated: false, jwt: undefined }],
    deny: [],
    rateLimits: opts.rate === undefined ? [] : [{ rule: 'p:grpc[0]', mode: opts.rate, requests: 10, perMs: 1000, by: 'principal' }],
    concurrency: [],
    bandwidth: [],
    maxMessageBytes: undefined,
    timeoutMs: undefined,
  };
}

function snapshot(over: Partial<AdminSnapshot> & { cfg?: Record<string, unknown>; rules?: GrpcRuleView[]; view?: Record<string, unknown> } = {}): AdminSnapshot {
  return {
    admin: 'http://127.0.0.1:7000',
    config: {
      relaxedDefaults: [],
      config: { inbound: { mtls: 'strict' }, audit: { file: '/var/log/audit.log', hmacKeyFile: '/k' }, jwt: { providers: [] }, ...over.cfg },
      workload: { spiffeId: 'spiffe://td/ns/shop/sa/orders', notBefore: '2026-11-01T00:00:00Z', notAfter: '2027-01-01T00:00:00Z' },
      version: { meshward: '0.1.0', node: 'v24.1.0' },
      ...over.view,
    },
    policies: { version: 'abc', sources: ['p.yaml'], loadedAt: '2026-11-30T00:00:00Z', rules: { policies: [], grpc: over.rules ?? [], graphql: [] } },
    metrics: 'meshward_policy_decisions_total{decision="deny",reason="default_deny",rule=""} 3\nmeshward_policy_decisions_total{decision="allow",reason="allowed",rule="p:grpc[0]"} 5\n',
    catalog: over.catalog,
    alerts: over.alerts,
    unavailable: over.unavailable ?? [],
    error: over.error,
  };
}

const ids = (fs: readonly Finding[]): string[] => fs.map((f) => `${f.severity}:${f.id}`).sort();

test('coverage: declared methods without a rule, only under *, in audit mode, without a rate limit (first match decides)', () => {
  const rules = [rule('shop.v1.Orders/GetOrder', { rate: 'enforce' }), rule('shop.v1.Orders/List*', { mode: 'audit', rate: 'enforce' }), rule('shop.v1.Admin/*', { rate: 'audit' }), rule('*')];
  const declared = ['shop.v1.Orders/GetOrder', 'shop.v1.Orders/ListOrders', 'shop.v1.Admin/Reset', 'shop.v1.Billing/Charge'];
  const c = coverage(rules, declared);
  assert.deepEqual(c.withoutRule, []);
  assert.deepEqual(c.onlyWildcard, ['shop.v1.Billing/Charge']);
  assert.deepEqual(c.inAuditMode, ['shop.v1.Orders/ListOrders']);
  assert.deepEqual(c.withoutRateLimit, ['shop.v1.Admin/Reset', 'shop.v1.Billing/Charge']);
  assert.deepEqual(coverage(rules.slice(0, 2), declared).withoutRule, ['shop.v1.Admin/Reset', 'shop.v1.Billing/Charge']);
});

test('declared methods are read from the catalog shapes a /catalog may use', () => {
  assert.deepEqual(declaredMethods({ declared: ['a.S/M', 'Query.me'] }), ['a.S/M']);
  assert.deepEqual(declaredMethods({ declared: [{ method: 'a.S/M', deprecated: false }, { name: 'b.S/N' }] }), ['a.S/M', 'b.S/N']);
  assert.deepEqual(declaredMethods({ declared: { grpc: [{ method: 'a.S/M' }], graphql: [{ field: 'Query.me' }] } }), ['a.S/M']);
  assert.deepEqual(declaredMethods({ declared: { 'a.S/M': { deprecated: true } } }), ['a.S/M']);
  assert.equal(declaredMethods(undefined), undefined);
});

test('a strict sidecar with rules and rate limits has no findings; each weakness adds its own', () => {
  const clean = sidecarSection(snapshot({ rules: [rule('a.S/M', { rate: 'enforce' })], catalog: { declared: ['a.S/M'], shadow: [], zombie: [], deprecatedInUse: [] }, alerts: { alerts: [] } }), NOW);
  assert.deepEqual(sidecarFindings(clean, NOW), []);
  assert.deepEqual(clean.traffic?.decisions, { deny: 3, allow: 5 });

  const weak = sidecarSection(
    snapshot({
      rules: [rule('a.S/M')],
      cfg: { inbound: { mtls: 'permissive' }, catalog: { protos: ['/p'], undeclared: 'allow' }, audit: { file: '-' } },
      view: { relaxedDefaults: ['inbound.allowAnyAuthenticated: calls …', 'inbound.mtls: permissive: …', 'rateLimit.redis.failMode: open', 'something.new: relaxed'], workload: { spiffeId: 'spiffe://td/x', notBefore: '2026-01-01T00:00:00Z', notAfter: '2026-11-30T00:00:00Z' }, version: { node: 'v20.20.2' } },
      catalog: { declared: ['a.S/M', 'a.S/N'], shadow: [{ method: 'x.S/Served', calls: 5, refused: 0 }, { method: 'x.S/Tried', calls: 2, refused: 2 }], zombie: ['a.S/N'], deprecatedInUse: [{ method: 'a.S/M' }] },
      alerts: { alerts: [{ labels: { alertname: 'MeshwardDenySpike', severity: 'warning' }, annotations: { summary: 'denials up' }, startsAt: '2026-11-30T23:00:00Z' }] },
    }),
    NOW,
  );
  assert.deepEqual(ids(sidecarFindings(weak, NOW)), [
    'high:allow-any-authenticated',
    'high:certificate-expired',
    'high:method-without-rule', // a.S/N has no rule and allowAnyAuthenticated lets anyone call it
    'high:mtls-permissive',
    'high:shadow-api-served',
    'high:undeclared-allowed',
    'low:audit-unkeyed',
    'low:deprecated-in-use',
    'low:no-rate-limit',
    'low:shadow-api-refused',
    'low:zombie-api',
    'medium:alert-active',
    'medium:fail-open',
    'medium:node-end-of-life',
    'medium:relaxed-default',
  ]);
});

test('certificate: medium within 20% of its lifetime (or 7 days without notBefore), nothing before', () => {
  const at = (notBefore: string | undefined, notAfter: string) => sidecarFindings(sidecarSection(snapshot({ view: { workload: { spiffeId: 'spiffe://td/x', notBefore, notAfter } } }), NOW), NOW);
  assert.deepEqual(ids(at('2026-11-01T00:00:00Z', '2026-12-05T00:00:00Z')), ['medium:certificate-expiring']); // 4 of 34 days left
  assert.deepEqual(ids(at('2026-11-25T00:00:00Z', '2026-12-05T00:00:00Z')), []); // 40% left
  assert.deepEqual(ids(at(undefined, '2026-12-05T00:00:00Z')), ['medium:certificate-expiring']);
  assert.deepEqual(ids(at(undefined, '2026-12-30T00:00:00Z')), []);
});

test('an unreachable sidecar is one high finding; --fail-on compares at or above', () => {
  const gone = sidecarSection(snapshot({ error: 'http://127.0.0.1:9: ECONNREFUSED' }), NOW);
  const fs = rankFindings(sidecarFindings(gone, NOW));
  assert.deepEqual(ids(fs), ['high:sidecar-unreachable']);
  assert.equal(failsAt(fs, 'high'), true);
  assert.equal(failsAt(fs, 'medium'), true);
  assert.equal(failsAt(fs, 'critical'), false);
});

test('HTML and Markdown escape what sidecars send', () => {
  const evil = sidecarSection(snapshot({ rules: [rule('a.S/M')], view: { workload: { spiffeId: 'spiffe://td/<script>alert(1)</script>' }, relaxedDefaults: ['x: <img src=x onerror=alert(1)> | pipe'] } }), NOW);
  const report: ComplianceReport = {
    reportVersion: 1,
    generatedAt: new Date(NOW).toISOString(),
    generator: { meshward: '0.1.0', node: 'v24' },
    summary: { sidecars: 1, reachable: 1, auditLogs: 0, findings: { critical: 0, high: 0, medium: 1, low: 0 } },
    findings: sidecarFindings(evil, NOW),
    sidecars: [evil],
    audit: [],
    sbom: { source: undefined, format: undefined, components: [], document: undefined, note: 'none' },
  };
  const html = renderHtml(report);
  assert.doesNotMatch(html, /<script>|<img/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  const md = renderMarkdown(report);
  assert.match(md, /onerror=alert\(1\)> \\\| pipe/);
  for (const line of md.split('\n').filter((l) => l.startsWith('| ') && l.includes('relaxed-default'))) assert.equal(line.split(/(?<!\\)\|/).length, 6, line);
});
