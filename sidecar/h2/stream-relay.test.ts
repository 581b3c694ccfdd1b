// The frame relay between real grpc-js clients and servers: every call shape, metadata and
// trailers, trailers-only errors, cancellation both ways, resets passed on, flow control end
// to end with a slow reader, one shared upstream connection (another when the app's stream
// limit is reached), and an app restart answered with 14 UNAVAILABLE, then recovery.

import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../../demo/echo-app.js';
import { bidi, clientStream, closeAllClients, echoClient, serverStream, unary } from '../../integration/support/grpc-clients.js';
import { startRelayServer, type RelayServer } from './test-support/relay-server.js';

let app: EchoApp;
let relay: RelayServer;
let target: string;

before(async () => {
  app = await startEchoApp();
  relay = await startRelayServer(app.port);
  target = `127.0.0.1:${relay.port}`;
});
after(async () => {
  closeAllClients();
  await relay.close();
  await app.close();
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('relay with grpc-js on both sides', () => {
  test('unary with metadata; 50 concurrent calls share one upstream connection', async () => {
    const client = echoClient(target, 'insecure');
    const r = await unary(client, { message: 'hi' }, { metadata: { 'x-trace': 'abc', 'x-bin-bin': Buffer.from([1, 2, 3]) } });
    assert.equal(r.status, 0, r.details);
    assert.equal(r.reply!.message, 'hi');
    assert.equal(r.reply!.metadata['x-trace'], 'abc');
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => unary(client, { message: `m${i}` })));
    assert.ok(all.every((x, i) => x.status === 0 && x.reply!.message === `m${i}`));
    assert.equal(relay.pool.connections.length, 1);
  });

  test('server streaming, client streaming and bidi, with payloads larger than every window', async () => {
    const client = echoClient(target, 'insecure');
    const ss = await serverStream(client, { count: 40, payloadSize: 256 * 1024 }, { collect: false, deadlineMs: 30_000 });
    assert.equal(ss.status, 0, ss.details);
    assert.equal(ss.count, 40);
    assert.equal(ss.bytes, 40 * 256 * 1024);
    const big = Buffer.alloc(512 * 1024, 7);
    const cs = await clientStream(client, Array.from({ length: 8 }, () => ({ payload: big })), { deadlineMs: 30_000 });
    assert.equal(cs.status, 0, cs.details);
    assert.equal(Number(cs.reply!.bytes), 8 * big.length);
    const bd = await bidi(client, Array.from({ length: 20 }, (_, i) => ({ message: `b${i}`, payload: Buffer.alloc(70_000) })), { deadlineMs: 30_000 });
    assert.equal(bd.status, 0, bd.details);
    assert.equal(bd.count, 20);
  });

  test("the app's error status (trailers-only) reaches the caller", async () => {
    const r = await unary(echoClient(target, 'insecure'), { message: 'x', failCode: 5 });
    assert.equal(r.status, 5);
    const s = await serverStream(echoClient(target, 'insecure'), { count: 3, failCode: 9 });
    assert.equal(s.status, 9);
    assert.equal(s.count, 3);
  });

  test('a caller that cancels: the app sees the cancellation', async () => {
    const before = app.calls.length;
    const r = await unary(echoClient(target, 'insecure'), { message: 'slow', sleepMs: 5000 }, { cancelAfterMs: 200 });
    assert.equal(r.status, 1);
    await until(() => app.calls.length > before && app.calls[app.calls.length - 1]!.cancelled);
  });

  test('a slow reader slows the app through windows: nothing piles up in the relay', async () => {
    const client = echoClient(target, 'insecure');
    const before = app.calls.length;
    let paused = true;
    const call = client.ServerStream({ count: 600, payloadSize: 64 * 1024 }, new grpc.Metadata(), { deadline: Date.now() + 60_000 });
    let received = 0;
    call.on('data', () => {
      received++;
      if (paused) call.pause();
    });
    call.on('error', () => {});
    await until(() => app.calls.length > before && app.calls[app.calls.length - 1]!.sent > 10);
    await new Promise((r) => setTimeout(r, 500));
    const rec = app.calls[app.calls.length - 1]!;
    const sentWhilePaused = rec.sent;
    // Bounded by the windows on the way (client 64 KiB..16 MiB as grpc-js sets it, the relay's
    // 1 MiB each way, the app's socket): far below the 37.5 MiB the app would send.
    assert.ok(sentWhilePaused < 100, `app sent ${sentWhilePaused} × 64 KiB while the caller read ${received}`);
    for (const c of relay.connections) for (const s of c.streams.values()) assert.ok(s.pendingBytes <= 2 << 20, `pending ${s.pendingBytes}`);
    paused = false;
    call.resume();
    const status = await new Promise<number>((r) => call.on('status', (s) => r(s.code)));
    assert.equal(status, 0);
    assert.equal(received, 600);
  });
});

describe('upstream connections', () => {
  test('calls that end cleanly are not reset towards the app (no RST_STREAM, no GOAWAY)', async () => {
    // A TCP tap between the relay and the app counts the frame types the relay sends.
    const seen = new Map<number, number>();
    const tap = net.createServer((inbound) => {
      const out = net.connect(app.port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      let preface = 24;
      inbound.on('data', (chunk: Buffer) => {
        out.write(chunk);
        buf = Buffer.concat([buf, chunk]);
        if (preface > 0) {
          const n = Math.min(preface, buf.length);
          buf = buf.subarray(n);
          preface -= n;
        }
        while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
          seen.set(buf[3]!, (seen.get(buf[3]!) ?? 0) + 1);
          buf = buf.subarray(9 + buf.readUIntBE(0, 3));
        }
      });
      out.pipe(inbound);
      inbound.on('close', () => out.destroy());
      out.on('close', () => inbound.destroy());
      inbound.on('error', () => {});
      out.on('error', () => {});
    });
    await new Promise<void>((r) => tap.listen(0, '127.0.0.1', r));
    const r2 = await startRelayServer((tap.address() as AddressInfo).port);
    try {
      const client = echoClient(`127.0.0.1:${r2.port}`, 'insecure');
      for (let i = 0; i < 5; i++) {
        const all = await Promise.all(Array.from({ length: 40 }, () => unary(client, { message: 'x' })));
        assert.ok(all.every((x) => x.status === 0));
      }
      assert.equal(seen.get(0x3) ?? 0, 0, 'RST_STREAM frames sent to the app');
      assert.equal(seen.get(0x7) ?? 0, 0, 'GOAWAY frames sent to the app');
      assert.ok((seen.get(0x1) ?? 0) >= 200);
    } finally {
      await r2.close();
      tap.close();
    }
  });

  test("another connection when the app's SETTINGS_MAX_CONCURRENT_STREAMS is reached", async () => {
    // A plain node:http2 app with a limit of 2 concurrent streams, answering after 100 ms.
    const limited = http2.createServer({ settings: { maxConcurrentStreams: 2 } });
    limited.on('stream', (stream) => {
      stream.resume();
      stream.on('end', () =>
        setTimeout(() => {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(Buffer.from([0, 0, 0, 0, 0]));
        }, 100),
      );
    });
    await new Promise<void>((r) => limited.listen(0, '127.0.0.1', r));
    const r2 = await startRelayServer((limited.address() as AddressInfo).port);
    try {
      const client = echoClient(`127.0.0.1:${r2.port}`, 'insecure');
      await unary(client, { message: 'warm' }); // the first connection learns the limit
      const all = await Promise.all(Array.from({ length: 6 }, () => unary(client, { message: 'x' })));
      assert.ok(all.every((x) => x.status === 0), JSON.stringify(all.map((x) => x.details)));
      assert.ok(r2.pool.connections.length >= 3, `${r2.pool.connections.length} upstream connections`);
    } finally {
      await r2.close();
      limited.close();
    }
  });

  test('app restart: calls get 14 UNAVAILABLE while it is down, then go through again', async () => {
    const own = await startEchoApp();
    const r2 = await startRelayServer(own.port);
    try {
      const client = echoClient(`127.0.0.1:${r2.port}`, 'insecure');
      assert.equal((await unary(client, { message: 'before' })).status, 0);
      const port = own.port;
      own.forceClose();
      await until(() => r2.pool.connections.length === 0);
      const down = await unary(client, { message: 'down' });
      assert.equal(down.status, 14, down.details);
      const again = await startEchoApp({ port });
      try {
        const up = await unary(client, { message: 'after' });
        assert.equal(up.status, 0, up.details);
      } finally {
        await again.close();
      }
    } finally {
      await r2.close();
    }
  });

  test('the app resets a stream mid-call: the caller sees it', async () => {
    const resetting = http2.createServer();
    resetting.on('stream', (stream) => {
      stream.on('error', () => {});
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(Buffer.from([0, 0, 0, 0, 0]));
      setTimeout(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 20);
    });
    await new Promise<void>((r) => resetting.listen(0, '127.0.0.1', r));
    const r2 = await startRelayServer((resetting.address() as AddressInfo).port);
    try {
      const r = await serverStream(echoClient(`127.0.0.1:${r2.port}`, 'insecure'), { count: 1 });
      assert.equal(r.status, 13, r.details); // grpc-js: RST_STREAM INTERNAL_ERROR → 13
    } finally {
      await r2.close();
      resetting.close();
    }
  });
});
