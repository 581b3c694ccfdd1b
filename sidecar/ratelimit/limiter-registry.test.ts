// The registry with `workers` > 1: each worker holds its share of concurrency and bandwidth
// (rate limits are shared through the primary instead: leased-rate-limiter.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LimiterRegistry } from './limiter-registry.js';

test('with 2 workers a concurrency limit is split (rounded up) and a bandwidth rate halved; 1 worker keeps them whole', () => {
  const concurrency = { rule: 'c:grpc[0]', mode: 'enforce', max: 5, queue: 3, queueTimeoutMs: undefined } as const;
  const bandwidth = { rule: 'b:grpc[0]', mode: 'enforce', bytesPerSecond: 1_000_000, by: { kind: 'global' } } as const;
  const split = new LimiterRegistry({ store: undefined, workers: 2, maxKeysPerRule: 10, maxRedisKeysPerRule: 10 });
  const c = split.concurrency(concurrency).limiter;
  assert.deepEqual([c.max, c.queue], [3, 2]);
  assert.equal(split.bandwidth(bandwidth).limiter.rule.bytesPerSecond, 500_000);
  const whole = new LimiterRegistry({ store: undefined, maxKeysPerRule: 10, maxRedisKeysPerRule: 10 });
  const w = whole.concurrency(concurrency).limiter;
  assert.deepEqual([w.max, w.queue], [5, 3]);
  assert.equal(whole.bandwidth(bandwidth).limiter.rule.bytesPerSecond, 1_000_000);
});

test('with workers, a concurrency refusal states the per-worker numbers it enforced (audit detail and QuotaFailure)', async () => {
  const { concurrencyRejection } = await import('./limit-rejections.js');
  const rule = { rule: 'c:grpc[0]', mode: 'enforce', max: 5, queue: 3, queueTimeoutMs: 250 } as const;
  const split = concurrencyRejection(rule, 'queue_full', rule.queueTimeoutMs, 2);
  assert.equal(split.detail, 'concurrency limit 3 in flight, 2 queued in this worker (5 and 3 split over 2 workers), queue timeout 250ms: queue full');
  const whole = concurrencyRejection(rule, 'queue_full', rule.queueTimeoutMs);
  assert.equal(whole.detail, 'concurrency limit 5 in flight, 3 queued, queue timeout 250ms: queue full');
  const registry = new LimiterRegistry({ store: undefined, workers: 2, maxKeysPerRule: 10, maxRedisKeysPerRule: 10 });
  assert.equal(registry.workers, 2);
});
