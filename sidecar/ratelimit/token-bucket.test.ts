import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullBucket, isFull, takeToken, takeWithDebt, type BucketShape } from './token-bucket.js';

const perSecond = (n: number, capacity = n): BucketShape => ({ ratePerMs: n / 1000, capacity });

test('a full bucket allows exactly `capacity` calls at once, then says when the next token comes', () => {
  const shape = perSecond(5);
  const b = fullBucket(shape, 0);
  for (let i = 0; i < 5; i++) assert.equal(takeToken(b, shape, 0), 0, `call ${i}`);
  assert.equal(takeToken(b, shape, 0), 200);
  assert.equal(takeToken(b, shape, 150), 50);
  assert.equal(takeToken(b, shape, 200), 0);
  assert.ok(takeToken(b, shape, 200) > 0);
});

test('over a window the count is capacity + rate × time (exact, no float drift)', () => {
  const shape = perSecond(10, 13); // 10 per second, burst 3
  const b = fullBucket(shape, 0);
  let allowed = 0;
  for (let t = 0; t <= 2000; t += 1) if (takeToken(b, shape, t) === 0) allowed++;
  assert.equal(allowed, 13 + 20);
});

test('refill stops at capacity; a bucket idle long enough is full (and can be forgotten)', () => {
  const shape = perSecond(2, 4);
  const b = fullBucket(shape, 0);
  for (let i = 0; i < 4; i++) takeToken(b, shape, 0);
  assert.equal(isFull(b, shape, 1000), false);
  assert.equal(isFull(b, shape, 2000), true);
  let allowed = 0;
  while (takeToken(b, shape, 100_000) === 0) allowed++;
  assert.equal(allowed, 4);
});

test('takeWithDebt: bytes beyond the tokens wait until the debt is repaid', () => {
  const shape = { ratePerMs: 1, capacity: 100 }; // 1000 bytes/s
  const b = fullBucket(shape, 0);
  assert.equal(takeWithDebt(b, shape, 60, 0), 0);
  assert.equal(takeWithDebt(b, shape, 60, 0), 20); // 20 bytes of debt → 20 ms
  assert.equal(takeWithDebt(b, shape, 50, 0), 70); // queued behind the first debt
  assert.equal(takeWithDebt(b, shape, 10, 80), 0);
});
