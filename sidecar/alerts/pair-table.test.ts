// The pair table: one object per caller × method found again without allocation, least
// recently used eviction at the cap (counted), and new-caller events only after learning.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PairTable } from './pair-table.js';

test('a known pair is the same object; pairs are listed most recently used first', () => {
  const t = new PairTable(10, Infinity);
  const a = t.pair('p1', 'm1');
  const b = t.pair('p1', 'm2');
  const c = t.pair('p2', 'm1');
  assert.equal(t.pair('p1', 'm1'), a);
  assert.deepEqual([...t.pairs()], [a, c, b]);
  assert.equal(t.pair('p1', 'm2'), b);
  assert.deepEqual([...t.pairs()], [b, a, c]);
  assert.equal(t.stats.pairs, 3);
});

test('at the cap the least recently used pair is evicted and counted', () => {
  const t = new PairTable(10, Infinity);
  for (let i = 0; i < 10; i++) t.pair('p', `m${i}`);
  t.pair('p', 'm0'); // used again: m1 is now the oldest
  t.pair('q', 'new');
  assert.equal(t.stats.pairs, 10);
  assert.equal(t.stats.evictions, 1);
  const names = [...t.pairs()].map((p) => `${p.principal} ${p.method}`);
  assert.ok(!names.includes('p m1'));
  assert.ok(names.includes('p m0'));
  assert.equal(names[0], 'q new');
  // Stress: a flood of new pairs never grows the table.
  for (let i = 0; i < 5000; i++) t.pair(`flood${i}`, 'x');
  assert.equal(t.stats.pairs, 10);
  assert.equal(t.stats.evictions, 5001);
  assert.equal([...t.pairs()].length, 10);
});

test('pairs first seen after learnUntil are handed out once as new callers; the event list is bounded', () => {
  let now = 1000;
  const t = new PairTable(100, 2000, 3, () => now);
  t.pair('p', 'a');
  now = 2000;
  t.pair('p', 'a');
  const b = t.pair('p', 'b');
  assert.deepEqual(t.takeFresh(), [b]);
  assert.deepEqual(t.takeFresh(), []);
  for (let i = 0; i < 5; i++) t.pair('q', `m${i}`);
  assert.equal(t.takeFresh().length, 3);
  assert.equal(t.stats.eventsDropped, 2);
});
