import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConcurrencyLimiter, type Waiter } from './concurrency-limiter.js';
import { ManualClock } from './manual-clock.test-helper.js';

const flush = () => new Promise((r) => setImmediate(r));

test('up to max calls take a slot synchronously; the next ones queue, the rest are refused', () => {
  const clock = new ManualClock();
  const c = new ConcurrencyLimiter(2, 1, clock);
  assert.equal(c.tryAcquire(), true);
  assert.equal(c.tryAcquire(), true);
  assert.equal(c.tryAcquire(), false);
  const w = c.enqueue(100);
  assert.notEqual(w, 'queue_full');
  assert.equal(c.enqueue(100), 'queue_full');
  assert.deepEqual([c.inFlight, c.waiting], [2, 1]);
});

test('a release hands the slot to the longest waiter, in order', async () => {
  const clock = new ManualClock();
  const c = new ConcurrencyLimiter(1, 3, clock);
  c.tryAcquire();
  const order: number[] = [];
  const waiters = [0, 1, 2].map((i) => {
    const w = c.enqueue(1000) as Waiter;
    void w.granted.then((g) => g === true && order.push(i));
    return w;
  });
  assert.equal(c.tryAcquire(), false, 'a newcomer does not jump the queue');
  c.release();
  await flush();
  assert.deepEqual(order, [0]);
  assert.equal(c.inFlight, 1);
  c.release();
  c.release();
  await flush();
  assert.deepEqual(order, [0, 1, 2]);
  c.release();
  assert.deepEqual([c.inFlight, c.waiting, clock.pending], [0, 0, 0]);
  assert.equal(waiters.length, 3);
});

test('a waiter is refused after its queue timeout (and leaves the queue)', async () => {
  const clock = new ManualClock();
  const c = new ConcurrencyLimiter(1, 5, clock);
  c.tryAcquire();
  const w = c.enqueue(250) as Waiter;
  let got: unknown;
  void w.granted.then((g) => (got = g));
  clock.advance(249);
  await flush();
  assert.equal(got, undefined);
  clock.advance(1);
  await flush();
  assert.equal(got, 'queue_timeout');
  assert.equal(c.waiting, 0);
  c.release();
  assert.equal(c.inFlight, 0, 'the timed-out waiter did not get the slot');
});

test('a cancelled waiter leaves the queue without taking a slot', async () => {
  const clock = new ManualClock();
  const c = new ConcurrencyLimiter(1, 5, clock);
  c.tryAcquire();
  const w = c.enqueue(1000) as Waiter;
  w.cancel();
  assert.equal(await w.granted, 'cancelled');
  assert.deepEqual([c.waiting, clock.pending], [0, 0]);
  c.release();
  assert.equal(c.inFlight, 0);
  w.cancel(); // twice is harmless
});

test('forced (audit) slots over the limit are given back before any hand-over', () => {
  const c = new ConcurrencyLimiter(1, 1, new ManualClock());
  c.tryAcquire();
  c.forceAcquire();
  const w = c.enqueue(1000);
  assert.notEqual(w, 'queue_full');
  c.release();
  assert.deepEqual([c.inFlight, c.waiting], [1, 1]);
  c.release();
  assert.deepEqual([c.inFlight, c.waiting], [1, 0]);
});
