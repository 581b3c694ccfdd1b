// GET /tap on a real admin listener in this process, fed by a tap hub directly: the stream's
// format, and a subscriber whose socket stops reading (it loses events, counted, and is
// told so when it reads again; the hub never waits for it).

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { TapEvent } from '../../tap/tap-event.js';
import { TapHub } from '../../tap/tap-hub.js';
import { startAdminServer, type AdminServer } from '../admin-server.js';

const hub = new TapHub({ maxBuffered: 64 });
let admin: AdminServer;

before(async () => {
  admin = await startAdminServer({ host: '127.0.0.1', port: 0 }, { notReadyReasons: () => [], config: () => ({}), policies: () => ({}), tap: hub });
});
after(async () => {
  await admin.close();
});

const event = (i: number): TapEvent => ({
  time: new Date().toISOString(), protocol: 'grpc', method: `bench.v1.S${i % 16}/Get`, operation: null,
  principal: 'spiffe://cluster.local/ns/web/sa/frontend', decision: i % 10 === 0 ? 'deny' : 'allow', reason: i % 10 === 0 ? 'default_deny' : 'allowed',
  rule: null, limited: false, status: i % 10 === 0 ? 7 : 0, durationMs: 0.5 + (i % 7), traceId: 'f'.repeat(32),
});

/** A raw HTTP/1.1 client: all text received so far. */
async function connect(path: string): Promise<{ socket: net.Socket; text: () => string; waitFor: (re: RegExp, ms?: number) => Promise<void> }> {
  const socket = net.connect(admin.address.port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (text += c));
  socket.write(`GET ${path} HTTP/1.1\r\nhost: admin\r\n\r\n`);
  const waitFor = async (re: RegExp, ms = 5000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!re.test(text)) {
      if (Date.now() > deadline) throw new Error(`no ${re} within ${ms} ms in:\n${text.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { socket, text: () => text, waitFor };
}

test('an event stream: headers, subscribed, one data line per call in order, heartbeat-safe framing', async () => {
  const c = await connect('/tap?decision=deny');
  await c.waitFor(/event: subscribed\n/);
  assert.match(c.text(), /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(c.text(), /content-type: text\/event-stream; charset=utf-8\r\n/i);
  assert.match(c.text(), /cache-control: no-store\r\n/i);
  for (let i = 0; i < 30; i++) hub.deliver(event(i));
  await c.waitFor(/("default_deny".*\n\n.*){3}/s);
  const data = [...c.text().matchAll(/^data: (\{"time".*\})$/gm)].map((m) => JSON.parse(m[1]!) as TapEvent);
  assert.deepEqual(data.map((e) => e.method), ['bench.v1.S0/Get', 'bench.v1.S10/Get', 'bench.v1.S4/Get']);
  c.socket.destroy();
});

test('a subscriber that stops reading loses events (counted), and is told how many when it reads again', async () => {
  const c = await connect('/tap');
  await c.waitFor(/event: subscribed\n/);
  c.socket.pause();
  // ~10 MB of events, far more than the socket buffers hold: the stream must stop writing,
  // the subscriber's buffer (64) fill and the rest be dropped — while deliver() stays quick.
  let slowest = 0;
  for (let batch = 0; batch < 60; batch++) {
    const t0 = performance.now();
    for (let i = 0; i < 500; i++) hub.deliver(event(batch * 500 + i));
    slowest = Math.max(slowest, performance.now() - t0);
    await new Promise((r) => setImmediate(r));
  }
  const dropped = hub.stats.dropped;
  assert.ok(dropped > 0, 'events were dropped');
  assert.ok(slowest < 1000, `500 deliveries took ${slowest} ms`);
  c.socket.resume();
  // Each report is the running total, written after the events of the same flush: once the
  // final total arrives, everything before it has too.
  await c.waitFor(new RegExp(`event: dropped\ndata: \\{"dropped":${dropped}\\}\n\n`), 10_000);
  const reported = Math.max(...[...c.text().matchAll(/event: dropped\ndata: \{"dropped":(\d+)\}/g)].map((m) => Number(m[1])));
  assert.equal(reported, dropped);
  const received = (c.text().match(/^data: \{"time"/gm) ?? []).length;
  assert.equal(received + reported, 30_000, 'every event is either received or counted as dropped');
  c.socket.destroy();
});

test('bad filters are 400; more subscribers than allowed get 503', async () => {
  const bad = await connect('/tap?decision=sometimes');
  await bad.waitFor(/\r\n\r\ntap: decision: /);
  assert.match(bad.text(), /^HTTP\/1\.1 400 /);
  bad.socket.destroy();
  const small = new TapHub({ maxSubscribers: 1 });
  const server = await startAdminServer({ host: '127.0.0.1', port: 0 }, { notReadyReasons: () => [], config: () => ({}), policies: () => ({}), tap: small });
  try {
    const first = net.connect(server.address.port, '127.0.0.1');
    first.write('GET /tap HTTP/1.1\r\nhost: a\r\n\r\n');
    const deadline = Date.now() + 5000;
    while (small.subscribers === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const res = await fetch(`http://127.0.0.1:${server.address.port}/tap`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /1 subscribers already/);
    first.destroy();
  } finally {
    await server.close();
  }
});
