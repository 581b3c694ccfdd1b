import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenCache, type CachedToken } from './token-cache.js';

const token = (name: string) => `header.payload-${name}.${name.padStart(40, '0')}`;
const value = (sub: string): CachedToken => ({
  result: { ok: true, jwt: { provider: 'p', payload: {}, subject: sub, expiresAt: 1 } },
  validUntil: 1,
  recheckAt: 1,
});

test('a hit needs the whole token, not only the key suffix', () => {
  const cache = new TokenCache(10);
  cache.set('aaa.bbb.' + 'x'.repeat(40), value('a'));
  assert.equal(cache.get('aaa.bbb.' + 'x'.repeat(40))?.result.jwt.subject, 'a');
  assert.equal(cache.get('aaa.BBB.' + 'x'.repeat(40)), undefined);
  cache.delete('aaa.BBB.' + 'x'.repeat(40)); // deletes nothing: another token
  assert.equal(cache.size, 1);
});

test('bounded: the oldest goes first, but a hit since the last sweep spares it once', () => {
  const cache = new TokenCache(4);
  for (const n of ['a', 'b', 'c', 'd']) cache.set(token(n), value(n));
  assert.ok(cache.get(token('a')));
  cache.set(token('e'), value('e')); // a is spared (its mark cleared), b goes
  assert.equal(cache.get(token('b')), undefined);
  cache.set(token('f'), value('f')); // c goes
  cache.set(token('g'), value('g')); // d goes
  cache.set(token('h'), value('h')); // a goes: not hit again since it was spared
  cache.set(token('i'), value('i')); // e goes
  const present = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].filter((n) => cache.get(token(n)) !== undefined);
  assert.deepEqual(present, ['f', 'g', 'h', 'i']);
  assert.equal(cache.size, 4);
});

test('all entries hit: eviction still ends, with the oldest gone', () => {
  const cache = new TokenCache(3);
  for (const n of ['a', 'b', 'c']) cache.set(token(n), value(n));
  for (const n of ['a', 'b', 'c']) cache.get(token(n));
  cache.set(token('d'), value('d'));
  assert.equal(cache.size, 3);
  assert.equal(cache.get(token('a')), undefined);
});

test('size 0 disables it', () => {
  const cache = new TokenCache(0);
  cache.set(token('a'), value('a'));
  assert.equal(cache.get(token('a')), undefined);
});
