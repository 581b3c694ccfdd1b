// The report's checks and renderers on hand-made admin answers: coverage of declared methods
// from /catalog (in the shapes a catalog may take), shadow/zombie/deprecated, undeclared
// methods allowed, certificates, alerts, --fail-on, and escaping in HTML and Markdown.
// integration/report.test.ts runs the real thing against sidecars and Chromium.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AdminSnapshot } from './collect.js';
import { failsAt, rankFindings, sidecarFindings } from './findings.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import type { ComplianceReport, Finding, RuleRow } from './report-model.js';
import { coverage, declaredMethods, sidecarSection } from './sidecar-facts.js';

const NOW = Date.parse('2026-12-01T00:00:00Z');

/** One gRPC rule as GET /policies?rules=1 lists it (policy/describe-rule.ts). */
function rule(pattern: string, opts: { mode?: 'enforce' | 'audit'; rate?: 'enforce' | 'audit' } = {}): Record<string, unknown> {
  const mode = opts.mode ?? 'enforce';
  return {
    pattern,
    kind: pattern === '*' ? 'any' : 'exact',
    mode,
    rules: [{ id: 'p:grpc[0]', where: 'p.yaml:5:7', mode }],
    deny: [],
    allow: [{ id: 'p:grpc[0].allow[0]', where: 'p.yaml:6:9', entry: { principals: ['spiffe://td/ns/web/sa/frontend'] } }],
    limits: opts.rate === undefined ? undefined : `rateLimit 10 per 1s by principal${opts.rate === 'audit' ? ' [audit]' : ''}`,
  };
}

const row = (pattern: string, mode: string, hasRateLimit: boolean): RuleRow => ({ pattern, policies: ['p'], mode, where: '', allow: '', deny: '', limits: '', auditedLimits: [], hasRateLimit });

function snapshot(over: Partial<Omit<AdminSnapshot, 'rules'>> & { cfg?: Record<string, unknown>; rules?: Record<string, unknown>[]; view?: Record<string, unknown>; cert?: Record<string, unknown> } = {}): AdminSnapshot {
  return {
    admin: 'http://127.0.0.1:7000',
    config: {
      relaxedDefaults: [],
      config: {
        identity: { spiffeId: 'spiffe://td/ns/shop/sa/orders', certificate: over.cert ?? { notBefore: '2026-11-01T00:00:00Z', notAfter: '2027-01-01T00:00:00Z' } },
        inbound: { mtls: 'strict' },
        audit: { file: '/var/log/audit.log', hmacKeyFile: '/k' },
        jwt: { providers: [] },
        ...over.cfg,
      },
      version: { meshward: '0.1.0', node: 'v24.1.0' },
      ...over.view,
    },
    policies: { version: 'abc', sources: ['p.yaml'], loadedAt: '2026-11-30T00:00:00Z' },
    rules: { version: 'abc', grpc: over.rules ?? [], graphql: [] },
    metrics: 'meshward_policy_decisions_total{decision="deny",reason="default_deny",rule=""} 3\nmeshward_policy_decisions_total{decision="allow",reason="allowed",rule="p:grpc[0]"} 5\n',
    catalog: over.catalog,
    alerts: over.alerts,
    unavailable: over.unavailable ?? [],
    error: over.error,
  };
}

const ids = (fs: readonly Finding[]): string[] => fs.map((f) => `${f.severity}:${f.id}`).sort();

test('coverage: declared methods without a rule, only under *, in audit mode, without a rate limit (first match decides)', () => {
  const rules = [row('shop.v1.Orders/GetOrder', 'enforce', true), row('shop.v1.Orders/List*', 'audit', true), row('shop.v1.Admin/*', 'enforce', false), row('*', 'enforce', false)];
  const declared = ['shop.v1.Orders/GetOrder', 'shop.v1.Orders/ListOrders', 'shop.v1.Admin/Reset', 'shop.v1.Billing/Charge'];
  const c = coverage(rules, declared);
  assert.deepEqual(c.withoutRule, []);
  assert.deepEqual(c.onlyWildcard, ['shop.v1.Billing/Charge']);
  assert.deepEqual(c.inAuditMode, ['shop.v1.Orders/ListOrders']);
  assert.deepEqual(c.withoutRateLimit, ['shop.v1.Admin/Reset', 'shop.v1.Billing/Charge']);
  assert.deepEqual(coverage(rules.slice(0, 2), declared).withoutRule, ['shop.v1.Admin/Reset', 'shop.v1.Billing/Charge']);
});

test('rules read from /policies?rules=1: limits in audit mode, enforced rate limits, policies and their mode', () => {
  const s = sidecarSection(snapshot({ rules: [rule('a.S/M', { rate: 'audit', mode: 'enforce' }), rule('a.S/N', { rate: 'enforce', mode: 'audit' })] }), NOW);
  assert.deepEqual(s.rules!.map((r) => [r.pattern, r.hasRateLimit, r.auditedLimits]), [['a.S/M', false, ['rateLimit 10 per 1s by principal [audit]']], ['a.S/N', true, []]]);
  assert.deepEqual(s.policies, [{ name: 'p', mode: 'enforce', where: 'p.yaml:5:7' }]);
  assert.equal(s.rules![0]!.allow, 'spiffe://td/ns/web/sa/frontend');
});

test('declared methods are read from the catalog shapes a /catalog may use', () => {
  assert.deepEqual(declaredMethods({ declared: ['a.S/M', 'Query.me'] }), ['a.S/M']);
  assert.deepEqual(declaredMethods({ declared: [{ method: 'a.S/M', deprecated: false }, { name: 'b.S/N' }] }), ['a.S/M', 'b.S/N']);
  assert.deepEqual(declaredMethods({ declared: { grpc: [{ method: 'a.S/M' }], graphql: [{ field: 'Query.me' }] } }), ['a.S/M']);
  assert.deepEqual(declaredMethods({ declared: { 'a.S/M': { deprecated: true } } }), ['a.S/M']);
  assert.equal(declaredMethods(undefined), undefined);
  // The catalog view of DESIGN §8 as sidecar/catalog builds it: protocol, name, counts.
  const s = sidecarSection(
    snapshot({
      catalog: {
        declared: [{ protocol: 'grpc', name: 'a.S/M', deprecated: true }, { protocol: 'graphql', name: 'Query.me', deprecated: false }],
        shadow: [{ protocol: 'grpc', name: 'x.S/Tried', calls: 3, refusedUndeclared: 3, lastSeen: null, callers: [] }],
        zombie: [{ protocol: 'graphql', name: 'Query.me', deprecated: false, lastSeen: null }],
        deprecatedInUse: [{ protocol: 'grpc', name: 'a.S/M', calls: 2, lastSeen: null, callers: [] }],
      },
    }),
    NOW,
  );
  assert.deepEqual(s.coverage?.declared, ['a.S/M']);
  assert.deepEqual(s.catalog, { shadow: [{ name: 'x.S/Tried', calls: 3, refused: 3 }], zombie: ['Query.me'], deprecatedInUse: ['a.S/M'] });
});

test('a strict sidecar with rules and rate limits has no findings; each weakness adds its own', () => {
  const clean = sidecarSection(snapshot({ rules: [rule('a.S/M', { rate: 'enforce' })], catalog: { declared: ['a.S/M'], shadow: [], zombie: [], deprecatedInUse: [] }, alerts: { alerts: [] } }), NOW);
  assert.deepEqual(sidecarFindings(clean, NOW), []);
  assert.deepEqual(clean.traffic?.decisions, { deny: 3, allow: 5 });

  const weak = sidecarSection(
    snapshot({
      rules: [rule('a.S/M')],
      cfg: { inbound: { mtls: 'permissive' }, catalog: { protos: ['/p'], undeclared: 'allow' }, audit: { file: '-' } },
      view: { relaxedDefaults: ['inbound.allowAnyAuthenticated: calls …', 'inbound.mtls: permissive: …', 'rateLimit.redis.failMode: open', 'something.new: relaxed'], version: { node: 'v20.20.2' } },
      cert: { notBefore: '2026-01-01T00:00:00Z', notAfter: '2026-11-30T00:00:00Z' },
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
  const at = (notBefore: string | undefined, notAfter: string) => sidecarFindings(sidecarSection(snapshot({ cert: notBefore === undefined ? { notAfter } : { notBefore, notAfter } }), NOW), NOW);
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
  const evil = sidecarSection(snapshot({ rules: [rule('a.S/M')], cfg: { identity: { spiffeId: 'spiffe://td/<script>alert(1)</script>' } }, view: { relaxedDefaults: ['x: <img src=x onerror=alert(1)> | pipe'] } }), NOW);
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
