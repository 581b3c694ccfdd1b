import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyTable } from './key-table.js';

interface Value {
  key: string;
  idle: boolean;
}

function table(max: number, removed: string[] = []) {
  return new KeyTable<Value>({
    max,
    create: (key) => ({ key, idle: false }),
    isIdle: (v) => v.idle,
    onRemove: (v) => removed.push(v.key),
  });
}

test('get creates once and returns the same state after', () => {
  const t = table(4);
  const a = t.get('a', 0);
  assert.equal(t.get('a', 0), a);
  assert.equal(t.size, 1);
});

test('a flood of distinct keys never grows it past max', () => {
  const t = table(100);
  for (let i = 0; i < 10_000; i++) t.get(`caller-${i}`, i);
  assert.equal(t.size, 100);
});

test('when full, keys hit since the last pass are spared and idle ones go first', () => {
  const removed: string[] = [];
  const t = table(3, removed);
  t.get('a', 0);
  t.get('b', 0);
  t.get('c', 0);
  t.get('a', 1); // a is marked used
  t.get('d', 2); // evicts b (a is spared once, b not used)
  assert.deepEqual(removed, ['b']);
  assert.equal(t.evicted, 1);
  t.get('c', 3).idle = true;
  t.get('e', 4);
  assert.ok(removed.includes('c'), 'an idle entry is a victim even when used');
  assert.equal(t.size, 3);
  assert.equal(t.evicted, 1, 'an idle victim is not counted as an eviction');
});

test('sweep drops idle entries and frees their slots for new keys without evicting', () => {
  const removed: string[] = [];
  const t = table(3, removed);
  for (const k of ['a', 'b', 'c']) t.get(k, 0);
  t.get('b', 0).idle = true;
  assert.equal(t.sweep(1), 1);
  assert.deepEqual(removed, ['b']);
  t.get('x', 2);
  assert.deepEqual(removed, ['b'], 'the freed slot is used, nothing live is evicted');
  assert.equal(t.peek('a')?.key, 'a');
  t.delete('a');
  assert.equal(t.peek('a'), undefined);
  t.clear();
  assert.equal(t.size, 0);
});
