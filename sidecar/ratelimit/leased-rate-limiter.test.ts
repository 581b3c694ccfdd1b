// Rate limits shared by worker processes: two workers' limiters leasing from one broker (an
// in-process stand-in for the IPC channel) admit exactly what one bucket would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RateLimitRule } from '../policy/model.js';
import { LEASE_TTL_MS, LeasedRateLimiter, leaseSize, type LeaseAsk } from './leased-rate-limiter.js';
import { ManualClock } from './manual-clock.test-helper.js';
import { TokenBroker, type LeaseRequest } from './token-broker.js';

const rule = (requests: number, perMs: number, extra: Partial<RateLimitRule> = {}): RateLimitRule => ({
  rule: 't:grpc[0]',
  mode: 'enforce',
  requests,
  perMs,
  burst: undefined,
  by: { kind: 'global' },
  ...extra,
});

function setup(r: RateLimitRule, workers = 2) {
  const clock = new ManualClock();
  const broker = new TokenBroker({ maxKeysPerLimit: 100, now: clock.now });
  const asks: LeaseRequest[] = [];
  // Answers a macrotask later, as an IPC round trip would.
  const ask: LeaseAsk = (req) => {
    asks.push(req);
    return new Promise((resolve) => setImmediate(() => resolve(broker.lease(req))));
  };
  const limiters = Array.from({ length: workers }, () => new LeasedRateLimiter(r, { ask, workers, maxKeys: 100, now: clock.now }));
  return { clock, broker, asks, limiters };
}

async function admitted(calls: Array<ReturnType<LeasedRateLimiter['take']>>): Promise<number> {
  return (await Promise.all(calls)).filter((r) => r === undefined).length;
}

test('two workers together admit exactly one bucket (20 per minute), in parallel and in turns', async () => {
  const { limiters } = setup(rule(20, 60_000));
  const parallel = Array.from({ length: 60 }, (_, i) => limiters[i % 2]!.take(''));
  assert.equal(await admitted(parallel), 20);
  const { limiters: l2 } = setup(rule(20, 60_000));
  let n = 0;
  for (let i = 0; i < 60; i++) if ((await l2[i % 2]!.take('')) === undefined) n++;
  assert.equal(n, 20);
});

test('a caller whose calls all reach one worker gets the whole budget, not 1/N of it', async () => {
  const { limiters } = setup(rule(20, 60_000));
  let n = 0;
  for (let i = 0; i < 40; i++) if ((await limiters[0]!.take('alice')) === undefined) n++;
  assert.equal(n, 20);
});

test('once the primary says "empty", refusals are answered locally (no IPC per refused call)', async () => {
  const { limiters, asks } = setup(rule(5, 60_000));
  for (let i = 0; i < 5; i++) assert.equal(await limiters[0]!.take('k'), undefined);
  assert.notEqual(await limiters[0]!.take('k'), undefined);
  const before = asks.length;
  for (let i = 0; i < 50; i++) assert.notEqual(limiters[0]!.take('k'), undefined);
  assert.equal(asks.length, before, 'no question asked while the refusal is fresh');
});

test('tokens come in batches of 1/8 bucket per worker, the next asked for early; an unspent batch expires', async () => {
  const r = rule(800, 1000);
  assert.equal(leaseSize(r, 2), 50);
  const { limiters, asks, clock } = setup(r);
  assert.equal(await limiters[0]!.take(''), undefined);
  for (let i = 0; i < 36; i++) assert.equal(limiters[0]!.take(''), undefined, 'the batch is spent synchronously');
  assert.equal(asks.length, 1);
  assert.equal(limiters[0]!.take(''), undefined);
  assert.equal(asks.length, 2, 'under a quarter of the batch left: the next one is asked for');
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 50; i++) assert.equal(limiters[0]!.take(''), undefined, 'no call waited for the primary');
  clock.advance(LEASE_TTL_MS);
  assert.ok(limiters[0]!.take('') instanceof Promise, 'the expired batch is not spent');
});

test('a weighted take (GraphQL cost) needs its whole weight at once', async () => {
  const { limiters } = setup(rule(10, 60_000, { unit: 'cost' }));
  assert.equal(await limiters[0]!.take('k', 4), undefined);
  assert.equal(await limiters[1]!.take('k', 4), undefined);
  assert.notEqual(await limiters[0]!.take('k', 4), undefined);
  assert.equal(await limiters[0]!.take('k', 2), undefined, 'the last 2 points are still there');
});

test('no answer from the primary: the waiting call gets 14 (fail closed), the next call asks again', async () => {
  let answers = false;
  let asked = 0;
  const broker = new TokenBroker({ maxKeysPerLimit: 10 });
  const l = new LeasedRateLimiter(rule(100, 1000), { ask: async (req) => (asked++, answers ? broker.lease(req) : undefined), workers: 2, maxKeys: 10 });
  assert.equal((await l.take('k'))?.reason, 'limit_store_unavailable');
  answers = true;
  assert.equal(await l.take('k'), undefined);
  assert.equal(asked, 2);
});

test('the broker grants need..want tokens or nothing, with the wait until `need` are back', () => {
  const clock = new ManualClock();
  const broker = new TokenBroker({ maxKeysPerLimit: 10, now: clock.now });
  const req = { limiter: 'x', ratePerMs: 10 / 1000, capacity: 10, key: 'k', need: 1, want: 4 };
  assert.deepEqual(broker.lease(req), { granted: 4, retryAfterMs: 0 });
  assert.deepEqual(broker.lease({ ...req, want: 100 }), { granted: 6, retryAfterMs: 0 });
  assert.deepEqual(broker.lease({ ...req, need: 3 }), { granted: 0, retryAfterMs: 300 });
  clock.advance(300);
  assert.deepEqual(broker.lease({ ...req, need: 3, want: 3 }), { granted: 3, retryAfterMs: 0 });
  assert.deepEqual(broker.lease({ ...req, key: null }), { granted: 4, retryAfterMs: 0 }, 'callers without a key share their own bucket');
});
