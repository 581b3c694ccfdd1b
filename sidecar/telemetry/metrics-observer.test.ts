import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JwtAuthenticator } from '../authn/jwt-authenticator.js';
import { jwtAuthnFilter } from '../filters/jwt-authn-filter.js';
import { fakeCall, outcome, runCall, snapshotOf } from './call-fixtures.test-helper.js';
import { certificateExpiryCollector, MeshwardMetrics } from './meshward-metrics.js';
import { escapeLabel } from './metric-family.js';
import { codeLabel, jwtValidationCounter, metricsObserver } from './metrics-observer.js';
import { MethodLabels, OTHER_METHOD } from './method-label.js';

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: m }
spec:
  grpc:
    - methods: ["demo.v1.Echo/Unary"]
      allow: [ { principals: ["spiffe://cluster.local/ns/web/sa/frontend"] } ]
    - methods: ["demo.v1.Wild/*"]
      allow: [ { principals: ["*"] } ]
    - methods: ["demo.v1.Shadow/Call"]
      allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
---
apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: a }
spec:
  mode: audit
  grpc:
    - methods: ["demo.v1.Audit/Call"]
      allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
`;
const snapshot = snapshotOf(POLICY);

/** The value of one sample line of the text format, by its full series text. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function setup() {
  const metrics = new MeshwardMetrics({ processMetrics: false });
  const labels = new MethodLabels();
  const obs = metricsObserver(metrics, labels, { protocol: 'grpc', direction: 'inbound' });
  const run = (path: string, status = 0, durationMs = 2) =>
    runCall([obs], fakeCall(path), snapshot, (r) => outcome(r === undefined ? status : 7, { durationMs }));
  return { metrics, run };
}

test('requests, durations and decisions are counted by their labels', () => {
  const { metrics, run } = setup();
  run('/demo.v1.Echo/Unary', 0, 0.3);
  run('/demo.v1.Echo/Unary', 0, 3);
  run('/demo.v1.Echo/Unary', 14, 30_000);
  run('/demo.v1.Shadow/Call');
  run('/demo.v1.Audit/Call');
  const text = metrics.renderOwn();
  const req = (method: string, code: string, decision: string) =>
    sample(text, `meshward_requests_total{protocol="grpc",direction="inbound",method="${method}",code="${code}",decision="${decision}"}`);
  assert.equal(req('demo.v1.Echo/Unary', '0', 'allow'), 2);
  assert.equal(req('demo.v1.Echo/Unary', '14', 'allow'), 1);
  assert.equal(req('demo.v1.Shadow/Call', '7', 'deny'), 1);
  assert.equal(req('demo.v1.Audit/Call', '0', 'audit_deny'), 1);

  const h = (suffix: string, extra = '') =>
    sample(text, `meshward_request_duration_seconds${suffix}{protocol="grpc",direction="inbound",method="demo.v1.Echo/Unary",code="0",decision="allow"${extra}}`);
  assert.equal(h('_bucket', ',le="0.0005"'), 1);
  assert.equal(h('_bucket', ',le="0.001"'), 1);
  assert.equal(h('_bucket', ',le="0.005"'), 2, 'buckets are cumulative');
  assert.equal(h('_bucket', ',le="+Inf"'), 2);
  assert.equal(h('_count'), 2);
  assert.ok(Math.abs(h('_sum')! - 0.0033) < 1e-9);
  assert.equal(
    sample(text, 'meshward_request_duration_seconds_bucket{protocol="grpc",direction="inbound",method="demo.v1.Echo/Unary",code="14",decision="allow",le="10"}'),
    0,
    'a 30 s call is only in +Inf',
  );

  assert.equal(sample(text, 'meshward_policy_decisions_total{decision="allow",reason="allowed",rule="m:grpc[0]"}'), 3);
  assert.equal(sample(text, 'meshward_policy_decisions_total{decision="deny",reason="no_allow_match",rule="m:grpc[2]"}'), 1);
  assert.equal(sample(text, 'meshward_policy_decisions_total{decision="audit_deny",reason="no_allow_match",rule="a:grpc[0]"}'), 1);
  assert.match(text, /^# TYPE meshward_requests_total counter$/m);
  assert.match(text, /^# TYPE meshward_request_duration_seconds histogram$/m);
});

test('methods no policy names, malformed paths and unimplemented wildcard methods are _OTHER', () => {
  const { metrics, run } = setup();
  for (let i = 0; i < 50; i++) run(`/scan.s${i}.Svc/M${i}`);
  run('/demo.v1.Echo/../Unary');
  run('/demo.v1.Wild/Nope', 12);
  run('/demo.v1.Wild/Real', 0);
  const text = metrics.renderOwn();
  const series = text.split('\n').filter((l) => l.startsWith('meshward_requests_total{'));
  assert.deepEqual(series.sort(), [
    'meshward_requests_total{protocol="grpc",direction="inbound",method="_OTHER",code="12",decision="allow"} 1',
    'meshward_requests_total{protocol="grpc",direction="inbound",method="_OTHER",code="7",decision="deny"} 51',
    'meshward_requests_total{protocol="grpc",direction="inbound",method="demo.v1.Wild/Real",code="0",decision="allow"} 1',
  ]);
  assert.equal(sample(text, 'meshward_policy_decisions_total{decision="deny",reason="default_deny",rule=""}'), 50);
  assert.equal(sample(text, 'meshward_policy_decisions_total{decision="deny",reason="malformed_path",rule=""}'), 1);
});

test('wildcard names are capped per process', () => {
  const labels = new MethodLabels(2);
  const label = (m: string) => {
    const ctx = fakeCall(`/demo.v1.Wild/${m}`);
    runCall([], ctx, snapshot, () => outcome(0));
    return labels.label(ctx, 0);
  };
  assert.deepEqual([label('A'), label('B'), label('C'), label('A')], ['demo.v1.Wild/A', 'demo.v1.Wild/B', OTHER_METHOD, 'demo.v1.Wild/A']);
});

test('code label: grpc-status, else the HTTP status, else reset', () => {
  assert.equal(codeLabel(outcome(0)), '0');
  assert.equal(codeLabel(outcome(16)), '16');
  assert.equal(codeLabel(outcome(undefined, { httpStatus: 415 })), 'http_415');
  assert.equal(codeLabel(outcome(undefined, { httpStatus: undefined, rstCode: 8 })), 'reset');
});

test('JWT results through the authn filter hook', async () => {
  const metrics = new MeshwardMetrics({ processMetrics: false });
  const results = [
    { ok: true, jwt: { provider: 'corp', payload: {}, subject: 'a', expiresAt: 0 } },
    { ok: false, failure: 'expired', provider: 'corp', detail: 'x' },
    { ok: false, failure: 'malformed', provider: undefined, detail: 'x' },
  ];
  let next = 0;
  const auth = { authenticate: () => Promise.resolve(results[next++]!) } as unknown as JwtAuthenticator;
  const filter = jwtAuthnFilter(auth, jwtValidationCounter(metrics));
  for (let i = 0; i < 3; i++) await filter.apply(fakeCall('/demo.v1.Echo/Unary', { authorization: 'Bearer x.y.z' }));
  await filter.apply(fakeCall('/demo.v1.Echo/Unary')); // no token: no validation
  const text = metrics.renderOwn();
  assert.equal(sample(text, 'meshward_jwt_validations_total{provider="corp",result="ok"}'), 1);
  assert.equal(sample(text, 'meshward_jwt_validations_total{provider="corp",result="expired"}'), 1);
  assert.equal(sample(text, 'meshward_jwt_validations_total{provider="_unknown",result="malformed"}'), 1);
});

test('rate-limit rejections, reloads, certificate expiry, label escaping', () => {
  const metrics = new MeshwardMetrics({ processMetrics: false });
  metrics.countRateLimitRejection('orders:grpc[0]');
  metrics.countRateLimitRejection('orders:grpc[0]');
  metrics.policyReloads.get1('error').value++;
  metrics.addCollector(certificateExpiryCollector(() => Date.UTC(2030, 0, 1)));
  const text = metrics.renderOwn();
  assert.equal(sample(text, 'meshward_ratelimit_rejections_total{rule="orders:grpc[0]"}'), 2);
  assert.equal(sample(text, 'meshward_policy_reloads_total{result="ok"}'), 0, 'present from the start');
  assert.equal(sample(text, 'meshward_policy_reloads_total{result="error"}'), 1);
  assert.equal(sample(text, 'meshward_certificate_expiry_seconds'), Date.UTC(2030, 0, 1) / 1000);
  assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
});

test('render() appends the process metrics', async () => {
  const text = await new MeshwardMetrics().render();
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_heap_size_total_bytes /m);
});
