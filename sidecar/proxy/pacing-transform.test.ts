import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../ratelimit/manual-clock.test-helper.js';
import { ByteBucket, byteBucketShape } from '../ratelimit/byte-bucket.js';
import { PacingTransform as BandwidthShaper } from './pacing-transform.js';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function target(bytesPerSecond: number, clock: ManualClock): ByteBucket {
  return new ByteBucket(byteBucketShape(bytesPerSecond), clock.now());
}

/** Writes `total` bytes in 16 KiB chunks (respecting backpressure) and counts what comes out. */
function run(shaper: BandwidthShaper, total: number): { out: () => number; ended: () => boolean } {
  let out = 0;
  let ended = false;
  shaper.on('data', (c: Buffer) => (out += c.length));
  shaper.on('end', () => (ended = true));
  let sent = 0;
  const write = (): void => {
    while (sent < total) {
      const n = Math.min(16_384, total - sent);
      sent += n;
      if (!shaper.write(Buffer.alloc(n))) return void shaper.once('drain', write);
    }
    shaper.end();
  };
  write();
  return { out: () => out, ended: () => ended };
}

test('a stream is slowed to the rate after a burst of a tenth of a second', async () => {
  const clock = new ManualClock(0);
  const rate = 1_000_000;
  const shaper = new BandwidthShaper(target(rate, clock), clock.now, clock);
  const r = run(shaper, 600_000);
  await flush();
  assert.ok(Math.abs(r.out() - 100_000) <= 16_384, `burst ${r.out()}`);
  for (let t = 0; t < 250; t += 10) {
    clock.advance(10);
    await flush();
  }
  // At 250 ms: the burst plus 250 ms worth, within one piece.
  assert.ok(Math.abs(r.out() - (100_000 + 250_000)) <= 16_384, `at 250 ms: ${r.out()}`);
  for (let t = 250; t < 600; t += 10) {
    clock.advance(10);
    await flush();
  }
  assert.equal(r.out(), 600_000);
  assert.equal(r.ended(), true);
});

test('two streams of one key share its rate', async () => {
  const clock = new ManualClock(0);
  const shared = target(100_000, clock); // capacity 16 KiB (one piece)
  const a = run(new BandwidthShaper(shared, clock.now, clock), 200_000);
  const b = run(new BandwidthShaper(shared, clock.now, clock), 200_000);
  for (let t = 0; t < 1000; t += 10) {
    clock.advance(10);
    await flush();
  }
  const total = a.out() + b.out();
  assert.ok(Math.abs(total - (16_384 + 100_000)) <= 2 * 16_384, `1 s of two streams: ${total}`);
  assert.ok(a.out() > 0 && b.out() > 0, 'both progress');
});

test('destroying a waiting shaper clears its timer', async () => {
  const clock = new ManualClock(0);
  const shaper = new BandwidthShaper(target(1_000, clock), clock.now, clock);
  shaper.on('data', () => undefined);
  shaper.write(Buffer.alloc(50_000));
  await flush();
  assert.equal(clock.pending, 1);
  shaper.destroy();
  await flush();
  assert.equal(clock.pending, 0);
});
