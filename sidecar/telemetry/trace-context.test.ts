import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from './trace-context.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

test('parses a valid version-00 traceparent (W3C example)', () => {
  assert.deepEqual(parseTraceparent(`00-${T}-${S}-01`), { traceId: T, spanId: S, sampled: true });
  assert.deepEqual(parseTraceparent(`00-${T}-${S}-00`), { traceId: T, spanId: S, sampled: false });
  // Only bit 0 is "sampled"; other flag bits are ignored.
  assert.deepEqual(parseTraceparent(`00-${T}-${S}-03`), { traceId: T, spanId: S, sampled: true });
  assert.deepEqual(parseTraceparent(`00-${T}-${S}-02`), { traceId: T, spanId: S, sampled: false });
});

test('rejects every malformed form', () => {
  const bad = [
    undefined,
    '',
    `00-${T}-${S}`,
    `00-${T}-${S}-01-extra`, // version 00 has exactly four fields
    `00-${T.toUpperCase()}-${S}-01`,
    `00-${T}-${S.toUpperCase()}-01`,
    `0x-${T}-${S}-01`,
    `ff-${T}-${S}-01`, // version ff is invalid
    `00-${'0'.repeat(32)}-${S}-01`, // all-zero trace id
    `00-${T}-${'0'.repeat(16)}-01`, // all-zero span id
    `00_${T}-${S}-01`,
    `00-${T}_${S}-01`,
    `00-${T.slice(1)}g-${S}-01`,
    `00-${T}-${S}-0g`,
    ` 00-${T}-${S}-01`,
    `00-${T}-${S}-01, 00-${T}-${S}-01`, // two headers joined
  ];
  for (const v of bad) assert.equal(parseTraceparent(v), undefined, String(v));
  assert.equal(parseTraceparent([`00-${T}-${S}-01`]), undefined, 'an array (repeated header) is not one traceparent');
});

test('a future version is read by its version-00 prefix (W3C §4.3)', () => {
  assert.deepEqual(parseTraceparent(`01-${T}-${S}-01`), { traceId: T, spanId: S, sampled: true });
  assert.deepEqual(parseTraceparent(`cc-${T}-${S}-01-what-the-future-holds`), { traceId: T, spanId: S, sampled: true });
  assert.equal(parseTraceparent(`cc-${T}-${S}-01x`), undefined, 'after the flags a future version needs a "-"');
});

test('formats what it parses', () => {
  assert.equal(formatTraceparent(T, S, true), `00-${T}-${S}-01`);
  assert.deepEqual(parseTraceparent(formatTraceparent(T, S, false)), { traceId: T, spanId: S, sampled: false });
});

test('new ids are lowercase hex of the right length, non-zero and distinct', () => {
  const traces = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const t = newTraceId();
    const s = newSpanId();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.match(s, /^[0-9a-f]{16}$/);
    assert.notEqual(t, '0'.repeat(32));
    traces.add(t);
  }
  assert.equal(traces.size, 2000);
});
