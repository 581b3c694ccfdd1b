// The delivery queue against a real HTTP receiver: batches, the bound (oldest dropped, counted),
// retries with backoff until the receiver recovers, giving up after the retries (counted), and
// a push that never waits for the network.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { DeliveryQueue, type DeliveryOptions } from './delivery-queue.js';
import { HeadersSource, postJson } from './http-post.js';

interface Receiver {
  readonly url: string;
  readonly bodies: unknown[][];
  /** Answer 503 to the next `n` requests. */
  failNext: number;
  /** Never answer while true. */
  hang: boolean;
  readonly times: number[];
  close(): Promise<void>;
}

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r))))));

async function receiver(): Promise<Receiver> {
  const r: Receiver = { url: '', bodies: [], failNext: 0, hang: false, times: [], close: async () => undefined };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      r.times.push(Date.now());
      if (r.hang) return;
      if (r.failNext > 0) {
        r.failNext--;
        return void res.writeHead(503).end('{"message":"try later"}');
      }
      r.bodies.push(JSON.parse(body) as unknown[]);
      res.writeHead(200).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(r, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in` });
}

const OPTS: DeliveryOptions = { capacity: 100, batch: 3, retries: 3, backoffMs: 20, maxBackoffMs: 200, random: () => 0.5 };

function queueTo(r: Receiver, opts: Partial<DeliveryOptions> = {}, timeoutMs = 2000): DeliveryQueue<number> {
  return new DeliveryQueue((batch) => postJson(r.url, batch, new HeadersSource(undefined, 'test'), timeoutMs), { ...OPTS, ...opts });
}

async function until(cond: () => boolean, what: string | (() => string), ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('items go out in batches of at most `batch`, in order', async () => {
  const r = await receiver();
  const q = queueTo(r);
  for (let i = 1; i <= 7; i++) q.push(i);
  await until(() => q.stats.ok === 7, 'all delivered');
  assert.deepEqual(r.bodies, [[1], [2, 3, 4], [5, 6, 7]]); // the first goes at once, the rest batch up behind it
  assert.deepEqual({ ...q.stats, lastError: undefined }, { ok: 7, retried: 0, failed: 0, dropped: 0, queued: 0, lastError: undefined });
});

test('a failing receiver is retried with a growing backoff until it takes the batch', async () => {
  const r = await receiver();
  r.failNext = 2;
  const q = queueTo(r);
  q.push(1);
  await until(() => q.stats.ok === 1, 'delivered after retries');
  assert.deepEqual(r.bodies, [[1]]);
  assert.equal(r.times.length, 3);
  const [t0, t1, t2] = r.times as [number, number, number];
  assert.ok(t1 - t0 >= 15, `first retry after ~20 ms (${t1 - t0})`);
  assert.ok(t2 - t1 >= 35, `second after ~40 ms (${t2 - t1})`);
  assert.equal(q.stats.retried, 2);
  assert.match(q.stats.lastError!, /HTTP 503: \{"message":"try later"\}/);
});

test('after the retries a batch is given up and counted as failed; the next one still goes', async () => {
  const r = await receiver();
  r.failNext = 4;
  const q = queueTo(r, { retries: 3, batch: 10 });
  q.push(1);
  q.push(2);
  await until(() => q.stats.failed === 1, 'first batch given up');
  q.push(3);
  await until(() => q.stats.ok >= 1, 'later items delivered');
  await until(() => q.stats.queued === 0 && q.stats.ok === 2, 'queue drained');
  assert.equal(q.stats.failed + q.stats.ok, 3);
  assert.deepEqual(r.bodies.flat().sort(), [2, 3]);
});

test('a full queue drops its oldest items (counted); push returns at once while the receiver hangs', async () => {
  const r = await receiver();
  r.hang = true;
  const q = queueTo(r, { capacity: 5, batch: 1, retries: 0 }, 300);
  const start = performance.now();
  for (let i = 1; i <= 50; i++) q.push(i);
  assert.ok(performance.now() - start < 50, 'pushing 50 items does not wait for the network');
  assert.equal(q.stats.queued, 5);
  assert.equal(q.stats.dropped, 44); // 1 in flight, 5 queued
  await until(() => r.times.length === 1, 'the first request hanging at the receiver');
  r.hang = false;
  await until(() => q.stats.queued === 0, 'drained');
  await until(() => q.stats.ok === 5, () => `the 5 newest delivered: ${JSON.stringify(q.stats)} ${JSON.stringify(r.bodies)}`);
  assert.equal(q.stats.failed, 1); // the one in flight timed out
  assert.match(q.stats.lastError!, /no answer within 300 ms/);
  assert.deepEqual(r.bodies.flat(), [46, 47, 48, 49, 50]);
});

test('coalesce: an item already waiting is queued once', async () => {
  const r = await receiver();
  r.hang = true;
  const q = queueTo(r, { coalesce: true, batch: 10 }, 200);
  q.push(1); // in flight
  q.push(2);
  q.push(2);
  q.push(3);
  q.push(2);
  assert.equal(q.stats.queued, 2);
  await q.close(10);
});

test('an unreachable receiver: the error names the connection failure', async () => {
  const r = await receiver();
  const url = r.url;
  await new Promise((res) => servers.pop()!.close(res));
  const q = new DeliveryQueue<number>((b) => postJson(url, b, new HeadersSource(undefined, 'test'), 500), { ...OPTS, retries: 0 });
  q.push(1);
  await until(() => q.stats.failed === 1, 'failed');
  assert.equal(q.stats.lastError, 'ECONNREFUSED');
});
