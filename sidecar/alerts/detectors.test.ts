// The detectors on a manual clock through the real observer, evaluator and book: each fires on
// its condition with the labels and annotations of DESIGN §10, stays deduplicated while active,
// and resolves when the condition clears (or, for event alerts, after eventFor).

import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { AlertsHarness, BATCH, DELETE_ORDER, FRONTEND, GET_ORDER, ORDERS } from './alerts.test-helper.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

let h: AlertsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Calls per minute for `minutes` windows, evaluating at each window end. */
function steady(x: AlertsHarness, principal: string, method: string, perWindow: number, windows: number): void {
  for (let i = 0; i < windows; i++) {
    x.call(principal, method, perWindow);
    x.advance(MINUTE);
  }
}

test('deny spike without a baseline fires at the absolute floor, with the numbers, rule and trace id; resolves when it stops', () => {
  h = new AlertsHarness('learnFor: 10m\nevaluateEvery: 1m');
  h.call(FRONTEND, DELETE_ORDER, 19, { traceId: TRACE });
  h.advance(MINUTE);
  assert.deepEqual(h.active('MeshwardDenySpike'), [], '19 denials stay under the floor of 20');

  h.call(FRONTEND, DELETE_ORDER, 25, { traceId: TRACE });
  h.advance(MINUTE);
  const [a, ...more] = h.active('MeshwardDenySpike');
  assert.equal(more.length, 0);
  assert.deepEqual(a!.labels, { alertname: 'MeshwardDenySpike', severity: 'warning', service: 'orders', method: DELETE_ORDER, principal: FRONTEND });
  assert.equal(a!.annotations.denials, '25');
  assert.equal(a!.annotations.calls, '25');
  assert.equal(a!.annotations.deny_ratio, '1');
  assert.equal(a!.annotations.baseline_denials, 'none');
  assert.equal(a!.annotations.last_reason, 'no_allow_match');
  assert.equal(a!.annotations.trace_id, TRACE);
  assert.match(a!.annotations.rule!, /no baseline yet: denials in 1m >= floor 20/);
  assert.match(a!.annotations.summary!, /25 of 25 calls/);
  assert.equal(a!.endsAt, null);

  // Still denied next window: the same alert (deduplicated), numbers refreshed.
  h.call(FRONTEND, DELETE_ORDER, 30);
  h.advance(MINUTE);
  const again = h.active('MeshwardDenySpike');
  assert.equal(again.length, 1);
  assert.equal(again[0]!.fingerprint, a!.fingerprint);
  assert.equal(again[0]!.startsAt, a!.startsAt);
  assert.equal(again[0]!.annotations.denials, '30');

  h.advance(MINUTE);
  assert.deepEqual(h.active('MeshwardDenySpike'), []);
});

test('deny spike against a baseline: a few denials are normal for this pair, a jump in count or ratio is not', () => {
  h = new AlertsHarness('learnFor: 3m\nevaluateEvery: 1m');
  // An established pair: 50 calls and 2 denials a minute (the denials come from an unknown method: _OTHER).
  for (let i = 0; i < 6; i++) {
    h.call(BATCH, GET_ORDER, 50);
    h.advance(MINUTE);
  }
  for (let i = 0; i < 6; i++) {
    h.call(FRONTEND, DELETE_ORDER, 3);
    h.call(FRONTEND, GET_ORDER, 30);
    h.advance(MINUTE);
  }
  assert.deepEqual(h.active('MeshwardDenySpike'), [], '3 denials a minute is this pair\'s normal');
  h.call(FRONTEND, DELETE_ORDER, 15);
  h.advance(MINUTE);
  const [a] = h.active('MeshwardDenySpike');
  assert.ok(a, 'five times the baseline fires although under the floor of 20');
  assert.match(a.annotations.rule!, /> 4 x baseline/);
  assert.equal(a.annotations.baseline_denials, '3');
  h.call(FRONTEND, DELETE_ORDER, 3);
  h.advance(MINUTE);
  assert.deepEqual(h.active('MeshwardDenySpike'), []);
});

test('rate spike fires only with a baseline, above factor x baseline and minCalls; resolves when the rate falls back', () => {
  h = new AlertsHarness('learnFor: 3m\nevaluateEvery: 1m\nrateSpike: { factor: 4, minCalls: 60 }');
  h.call(BATCH, GET_ORDER, 500); // a burst before any baseline: not judged
  h.advance(MINUTE);
  steady(h, BATCH, GET_ORDER, 20, 5);
  assert.deepEqual(h.active('MeshwardRateSpike'), []);
  h.call(BATCH, GET_ORDER, 79, { traceId: TRACE }); // under 4 x 20
  h.advance(MINUTE);
  assert.deepEqual(h.active('MeshwardRateSpike'), []);
  h.call(BATCH, GET_ORDER, 400, { traceId: TRACE });
  h.advance(MINUTE);
  const [a] = h.active('MeshwardRateSpike');
  assert.ok(a);
  assert.equal(a.labels.principal, BATCH);
  assert.equal(a.labels.method, GET_ORDER);
  assert.equal(a.annotations.calls, '400');
  assert.equal(a.annotations.trace_id, TRACE);
  assert.ok(Number(a.annotations.baseline_calls) > 20 && Number(a.annotations.baseline_calls) < 40, a.annotations.baseline_calls);
  steady(h, BATCH, GET_ORDER, 20, 1);
  assert.deepEqual(h.active('MeshwardRateSpike'), []);
});

test('a new caller after learnFor is an event alert: raised at the next tick, active for eventFor, not raised twice', () => {
  h = new AlertsHarness('learnFor: 2m\nevaluateEvery: 10s\neventFor: 5m');
  h.call(FRONTEND, GET_ORDER, 3);
  h.advance(MINUTE);
  h.call(BATCH, GET_ORDER, 1); // still learning
  h.advance(2 * MINUTE);
  assert.deepEqual(h.active('MeshwardNewCaller'), []);

  h.call(BATCH, DELETE_ORDER, 1, { traceId: TRACE }); // new pair after learning (denied: still new)
  h.call(FRONTEND, GET_ORDER, 5); // known pair
  h.advance(10 * SECOND);
  const [a, ...more] = h.active('MeshwardNewCaller');
  assert.equal(more.length, 0);
  assert.deepEqual(a!.labels, { alertname: 'MeshwardNewCaller', severity: 'warning', service: 'orders', method: DELETE_ORDER, principal: BATCH });
  assert.equal(a!.annotations.first_outcome, 'no_allow_match');
  assert.equal(a!.annotations.trace_id, TRACE);
  assert.equal(a!.annotations.learn_for, '2m');
  assert.equal(a!.annotations.other_callers_of_method, '0');
  assert.equal(Date.parse(a!.endsAt!) - Date.parse(a!.startsAt), 5 * MINUTE);

  h.call(BATCH, DELETE_ORDER, 10);
  h.advance(4 * MINUTE);
  assert.equal(h.active('MeshwardNewCaller').length, 1);
  h.advance(MINUTE);
  assert.deepEqual(h.active('MeshwardNewCaller'), []);
  h.call(BATCH, DELETE_ORDER, 1);
  h.advance(10 * SECOND);
  assert.deepEqual(h.active('MeshwardNewCaller'), [], 'a known pair is not new again');
});

test('methods no policy names share _OTHER, with the name used as an example', () => {
  h = new AlertsHarness('learnFor: 0s\nevaluateEvery: 10s');
  h.call(FRONTEND, 'shop.v1.Orders/Scan1', 1);
  h.call(FRONTEND, 'shop.v1.Orders/Scan2', 1);
  h.advance(10 * SECOND);
  const news = h.active('MeshwardNewCaller');
  assert.deepEqual(news.map((a) => a.labels.method), ['_OTHER']);
  assert.match(news[0]!.annotations.example_method!, /shop\.v1\.Orders\/Scan[12]/);
});

test('JWT attack failures of one caller are summed over its methods and fire at the floor; other JWT failures do not count', () => {
  h = new AlertsHarness('evaluateEvery: 1m\njwtFailures: { floor: 10 }');
  h.call(FRONTEND, GET_ORDER, 4, { reason: 'jwt_bad_signature', traceId: TRACE });
  h.call(FRONTEND, DELETE_ORDER, 3, { reason: 'jwt_unknown_kid' });
  h.call(FRONTEND, GET_ORDER, 2, { reason: 'jwt_bad_algorithm' });
  h.call(FRONTEND, GET_ORDER, 50, { reason: 'jwt_expired' });
  h.advance(MINUTE);
  assert.deepEqual(h.active('MeshwardJwtFailures'), [], '9 < 10; expired tokens are not an attack');
  h.call(FRONTEND, GET_ORDER, 6, { reason: 'jwt_bad_signature', traceId: TRACE });
  h.call(FRONTEND, DELETE_ORDER, 6, { reason: 'jwt_bad_algorithm' });
  h.advance(MINUTE);
  const [a] = h.active('MeshwardJwtFailures');
  assert.ok(a);
  assert.deepEqual(a.labels, { alertname: 'MeshwardJwtFailures', severity: 'critical', service: 'orders', principal: FRONTEND });
  assert.equal(a.annotations.failures, '12');
  assert.equal(a.annotations.bad_signature, '6');
  assert.equal(a.annotations.bad_algorithm, '6');
  assert.equal(a.annotations.trace_id, TRACE);
  assert.match(a.annotations.methods!, /shop\.v1\.Orders\/GetOrder=6/);
  h.advance(MINUTE);
  assert.deepEqual(h.active('MeshwardJwtFailures'), []);
});

test('certificate expiry fires under 20% of the lifetime left and resolves when a rotated certificate is loaded', () => {
  h = new AlertsHarness('evaluateEvery: 10s');
  const t = h.clock.t;
  h.cert = { spiffeId: ORDERS, notBefore: t - 90 * MINUTE, notAfter: t + 30 * MINUTE }; // 25% left
  h.advance(10 * SECOND);
  assert.deepEqual(h.active('MeshwardCertificateExpiry'), []);
  h.advance(10 * MINUTE); // ~17% left
  const [a] = h.active('MeshwardCertificateExpiry');
  assert.ok(a);
  assert.deepEqual(a.labels, { alertname: 'MeshwardCertificateExpiry', severity: 'warning', service: 'orders', principal: ORDERS });
  assert.equal(a.annotations.not_after, new Date(t + 30 * MINUTE).toISOString());
  assert.equal(a.annotations.seconds_left, String(30 * 60 - 610));
  h.cert = { spiffeId: ORDERS, notBefore: h.clock.t, notAfter: h.clock.t + 120 * MINUTE };
  h.advance(10 * SECOND);
  assert.deepEqual(h.active('MeshwardCertificateExpiry'), []);
});

test('limit store down: critical with failMode closed, resolved when it is up', () => {
  h = new AlertsHarness('evaluateEvery: 10s', 'rateLimit: { store: redis }');
  h.store = { state: 'up', since: h.clock.t, outages: 0, unavailableCalls: 0 };
  h.advance(10 * SECOND);
  assert.deepEqual(h.active('MeshwardLimitStoreDown'), []);
  h.store = { state: 'down', since: h.clock.t, outages: 1, unavailableCalls: 7 };
  h.advance(10 * SECOND);
  const [a] = h.active('MeshwardLimitStoreDown');
  assert.ok(a);
  assert.deepEqual(a.labels, { alertname: 'MeshwardLimitStoreDown', severity: 'critical', service: 'orders' });
  assert.equal(a.annotations.unavailable_calls, '7');
  assert.equal(a.annotations.fail_mode, 'closed');
  h.store = { state: 'up', since: h.clock.t, outages: 1, unavailableCalls: 7 };
  h.advance(10 * SECOND);
  assert.deepEqual(h.active('MeshwardLimitStoreDown'), []);
});

test('disabled detectors, extra labels and the service override', () => {
  h = new AlertsHarness('evaluateEvery: 1m\nservice: orders-eu\nlabels: { cluster: eu-1 }\ndisabled: [MeshwardDenySpike]');
  h.call(FRONTEND, DELETE_ORDER, 100);
  h.store = { state: 'down', since: h.clock.t, outages: 1, unavailableCalls: 0 };
  h.advance(MINUTE);
  assert.deepEqual(h.active('MeshwardDenySpike'), []);
  assert.deepEqual(h.active('MeshwardLimitStoreDown')[0]?.labels, { cluster: 'eu-1', alertname: 'MeshwardLimitStoreDown', severity: 'critical', service: 'orders-eu' });
});

test('maxActive bounds the active alerts; the rest are counted', () => {
  h = new AlertsHarness('learnFor: 0s\nevaluateEvery: 10s\nmaxActive: 10');
  for (let i = 0; i < 25; i++) h.call(`spiffe://cluster.local/ns/web/sa/c${i}`, GET_ORDER, 1);
  h.advance(10 * SECOND);
  assert.equal(h.active('MeshwardNewCaller').length, 10);
  assert.match(h.alerts.metrics(), /^meshward_alerts_suppressed_total 15$/m);
  assert.match(h.alerts.metrics(), /^meshward_alerts_active\{alertname="MeshwardNewCaller"\} 10$/m);
});

test('enabled: false counts nothing', () => {
  h = new AlertsHarness('enabled: false');
  assert.equal(h.alerts.observer, undefined);
  assert.equal(h.alerts.view().enabled, false);
});

test('shadow and deprecated API use: one event alert per method and caller, from the catalog declarations', () => {
  h = new AlertsHarness('learnFor: 1h\nevaluateEvery: 10s\neventFor: 5m', '', { catalog: true });
  h.call(FRONTEND, 'shop.v1.Orders/Export', 3, { traceId: TRACE }); // undeclared (and unknown to the policy)
  h.call(FRONTEND, DELETE_ORDER, 2); // deprecated
  h.call(BATCH, DELETE_ORDER, 1);
  h.call(FRONTEND, GET_ORDER, 5); // declared
  h.advance(10 * SECOND);
  const shadow = h.active('MeshwardShadowApi');
  assert.equal(shadow.length, 1);
  assert.deepEqual(shadow[0]!.labels, { alertname: 'MeshwardShadowApi', severity: 'warning', service: 'orders', method: 'shop.v1.Orders/Export', principal: FRONTEND });
  assert.equal(shadow[0]!.annotations.first_outcome, 'default_deny');
  assert.equal(shadow[0]!.annotations.trace_id, TRACE);
  assert.equal(shadow[0]!.annotations.declarations_version, 'test-1');
  const deprecated = h.active('MeshwardDeprecatedApi');
  assert.deepEqual(deprecated.map((a) => a.labels.principal).sort(), [BATCH, FRONTEND].sort());
  assert.ok(deprecated.every((a) => a.labels.severity === 'info' && a.labels.method === DELETE_ORDER && a.annotations.file === 'shop/v1/orders.proto'));
  assert.deepEqual(h.active('MeshwardNewCaller'), [], 'still learning');
  h.call(FRONTEND, 'shop.v1.Orders/Export', 3);
  h.advance(5 * MINUTE);
  assert.deepEqual(h.active('MeshwardShadowApi'), []);
  assert.deepEqual(h.active('MeshwardDeprecatedApi'), []);
  h.call(FRONTEND, 'shop.v1.Orders/Export', 1);
  h.advance(10 * SECOND);
  assert.deepEqual(h.active('MeshwardShadowApi'), [], 'a known use is not raised again');
});

test('a GraphQL field the schema marks @deprecated: MeshwardDeprecatedApi once per field and caller, with the reason', () => {
  h = new AlertsHarness('learnFor: 1h\nevaluateEvery: 10s\neventFor: 5m', '', { catalog: true });
  h.graphqlCall(FRONTEND, ['Query.order', 'Order.total'], 3);
  h.graphqlCall(BATCH, ['Query.order'], 2); // nothing deprecated
  h.advance(10 * SECOND);
  const deprecated = h.active('MeshwardDeprecatedApi');
  assert.equal(deprecated.length, 1);
  assert.deepEqual(deprecated[0]!.labels, { alertname: 'MeshwardDeprecatedApi', severity: 'info', service: 'orders', method: 'Order.total', principal: FRONTEND });
  assert.equal(deprecated[0]!.annotations.deprecation_reason, 'Use totalCents.');
  assert.match(deprecated[0]!.annotations.description!, /@deprecated in the GraphQL schema \(Use totalCents\.\)/);
  assert.deepEqual(h.active('MeshwardShadowApi'), [], 'GraphQL fields are never shadow gRPC methods');
  h.graphqlCall(FRONTEND, ['Order.total']);
  h.advance(10 * SECOND);
  assert.equal(h.active('MeshwardDeprecatedApi').length, 1, 'a known use is not raised twice');
});

test('without gRPC declarations nothing is a shadow API', () => {
  h = new AlertsHarness('evaluateEvery: 10s', '', { catalog: true });
  h.declarations = { ...h.declarations, grpcDeclared: false, methods: new Map() };
  h.call(FRONTEND, 'shop.v1.Orders/Export', 3);
  h.advance(10 * SECOND);
  assert.deepEqual(h.active('MeshwardShadowApi'), []);
});
