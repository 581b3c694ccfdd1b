import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantile, shortPrincipal, TrafficWindow, type TrafficEvent } from './traffic-window.js';

const A = 'spiffe://cluster.local/ns/web/sa/frontend';
const B = 'spiffe://cluster.local/ns/ops/sa/oncall';
const ev = (method: string, over: Partial<TrafficEvent> = {}): TrafficEvent => ({ method, principal: A, decision: 'allow', limited: false, durationMs: 1, ...over });

test('per method: counts by kind, rate over the window so far, quantiles, top callers', () => {
  const t0 = 1_000_000;
  const w = new TrafficWindow({}, t0);
  for (let i = 1; i <= 100; i++) w.add(ev('a.S/Get', { durationMs: i, principal: i % 4 === 0 ? B : A }), t0 + i * 10);
  w.add(ev('a.S/Get', { decision: 'deny' }), t0 + 1500);
  w.add(ev('a.S/Get', { decision: 'deny', limited: true }), t0 + 1500);
  w.add(ev('a.S/Get', { decision: 'audit_deny' }), t0 + 1500);
  w.add(ev('a.S/Del', { decision: 'deny', principal: null }), t0 + 1600);
  const rows = w.rows(t0 + 2000);
  assert.deepEqual(rows.map((r) => r.method), ['a.S/Get', 'a.S/Del'], 'busiest first');
  const get = rows[0]!;
  assert.deepEqual([get.calls, get.allowed, get.denied, get.limited], [103, 101, 1, 1]);
  assert.equal(get.callsPerSecond, 103 / 2, 'over the 2 s since the start');
  assert.equal(get.p50Ms, 49, 'nearest rank 52 of 103: three more calls of 1 ms');
  assert.equal(get.p99Ms, 99);
  assert.deepEqual(get.topCallers, [{ principal: A, calls: 78 }, { principal: B, calls: 25 }]);
  assert.deepEqual(rows[1]!.topCallers, [{ principal: null, calls: 1 }]);
});

test('old events leave the window; a full ring shortens it to what it holds', () => {
  const t0 = 0;
  const w = new TrafficWindow({ windowMs: 10_000, maxEvents: 5 }, t0);
  w.add(ev('old.S/X'), 1000);
  assert.equal(w.rows(12_000).length, 0, 'older than the window');
  for (let i = 0; i < 5; i++) w.add(ev('new.S/Y'), 20_000 + i * 100);
  assert.equal(w.spanMs(20_500), 1000, 'at least 1 s');
  for (let i = 0; i < 5; i++) w.add(ev('new.S/Y'), 22_000 + i * 100);
  const rows = w.rows(24_000);
  assert.equal(rows[0]!.calls, 5, 'bounded by maxEvents');
  assert.equal(w.spanMs(24_000), 2000, 'from the oldest kept event');
  assert.equal(rows[0]!.callsPerSecond, 2.5);
  assert.equal(w.total, 11);
});

test('quantile (nearest rank) and shortPrincipal', () => {
  assert.equal(quantile([], 0.5), 0);
  assert.equal(quantile([3], 0.99), 3);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.99), 4);
  assert.equal(shortPrincipal(A), 'ns/web/sa/frontend');
  assert.equal(shortPrincipal(null), '(unauthenticated)');
});
