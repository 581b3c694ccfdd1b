// The lines `meshward tap` prints and the table `meshward top` draws (their end-to-end tests
// are integration/tap.test.ts and integration/top.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TapEvent } from '../tap/tap-event.js';
import { formatTapLine } from './tap.js';
import { renderTopTable } from './top.js';

const e = (over: Partial<TapEvent> = {}): TapEvent => ({
  time: '2026-12-05T10:00:00.123Z', protocol: 'grpc', method: 'shop.v1.Orders/GetOrder', operation: null,
  principal: 'spiffe://cluster.local/ns/web/sa/frontend', decision: 'allow', reason: 'allowed', rule: null, limited: false,
  status: 0, durationMs: 0.812, traceId: null, ...over,
});

test('tap lines: plain', () => {
  assert.equal(formatTapLine(e(), false), '2026-12-05T10:00:00.123Z ALLOW      shop.v1.Orders/GetOrder principal=spiffe://cluster.local/ns/web/sa/frontend status=0 duration=0.812ms');
  assert.equal(
    formatTapLine(e({ decision: 'deny', reason: 'rate_limited', rule: 'orders:grpc[0]', limited: true, status: 8, traceId: 'ab'.repeat(16), principal: null }), false),
    `2026-12-05T10:00:00.123Z LIMITED    shop.v1.Orders/GetOrder principal=- reason=rate_limited rule=orders:grpc[0] status=8 duration=0.812ms trace=${'ab'.repeat(16)}`,
  );
  assert.match(formatTapLine(e({ protocol: 'graphql', method: '/graphql', operation: 'query GetOrder', status: null }), false), / \/graphql principal=\S+ operation="query GetOrder" status=reset /);
});

test('tap lines: colour by decision on a terminal', () => {
  assert.match(formatTapLine(e(), true), /\x1b\[32mALLOW/);
  assert.match(formatTapLine(e({ decision: 'deny', reason: 'no_allow_match' }), true), /\x1b\[31mDENY/);
  assert.match(formatTapLine(e({ decision: 'audit_deny', reason: 'no_allow_match' }), true), /\x1b\[33mAUDIT_DENY/);
});

test('top table: aligned columns, numbers right, callers last', () => {
  const lines = renderTopTable(
    [
      { method: 'shop.v1.Orders/GetOrder', calls: 120, callsPerSecond: 12.3, allowed: 118, denied: 1, limited: 1, p50Ms: 0.8, p99Ms: 4.25, topCallers: [{ principal: 'spiffe://cluster.local/ns/web/sa/frontend', calls: 119 }, { principal: null, calls: 1 }] },
      { method: 'a.B/C', calls: 2, callsPerSecond: 0.2, allowed: 0, denied: 2, limited: 0, p50Ms: 0.1, p99Ms: 0.1, topCallers: [] },
    ],
    false,
  );
  assert.deepEqual(lines, [
    'METHOD                   CALLS/S  ALLOWED  DENIED  LIMITED  P50 MS  P99 MS  TOP CALLERS',
    'shop.v1.Orders/GetOrder       12      118       1        1    0.80    4.25  ns/web/sa/frontend ×119, (unauthenticated) ×1',
    'a.B/C                        0.2        0       2        0    0.10    0.10',
  ]);
});
