// The gRPC data plane end to end: a grpc-js client over mTLS → the built sidecar (child
// process) → the grpc-js echo app over h2c. Every RPC kind, metadata, trailers, deadlines,
// cancellation, the app going away and coming back, flow control under a slow reader.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { methodPaths } from '../demo/proto.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { bidi, clientStream, closeAllClients, echoClient, serverStream, toMetadata, unary } from './support/grpc-clients.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientId, clientTls, makePki, serverId, type Pki } from './support/tls-fixtures.js';

const OK = 0;
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

let dir: string;
let pki: Pki;
let app: EchoApp;
let sidecar: SidecarProcess;

function client() {
  return echoClient(sidecar.inbound, clientTls(pki, pki.client), { expectServerId: serverId(), servername: 'orders' });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-proxy-'));
  pki = await makePki(join(dir, 'pki'));
  app = await startEchoApp();
  const config = await writeSidecarConfig(dir, {
    appPort: app.port,
    pki,
    allowAnyAuthenticated: true,
    extra: 'shutdown:\n  drainTimeout: 5s\n',
  });
  sidecar = await startSidecar(config);
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('every RPC kind crosses the sidecar', () => {
  test('unary: reply, metadata to the app, identity asserted by meshward', async () => {
    const before = app.calls.length;
    const r = await unary(client(), { message: 'hello' }, {
      metadata: { 'x-request-id': 'r-1', 'x-meshward-principal': 'spiffe://cluster.local/ns/evil/sa/forged', 'x-forwarded-client-cert': 'URI=forged' },
    });
    assert.equal(r.status, OK, r.details);
    assert.equal(r.reply?.message, 'hello');
    const seen = app.calls.slice(before).find((c) => c.method === methodPaths.unary);
    assert.ok(seen, 'the app saw the call');
    assert.equal(seen.metadata['x-request-id'], 'r-1');
    // Caller-supplied identity headers are replaced by meshward's own.
    assert.equal(seen.metadata['x-meshward-principal'], clientId());
    const xfcc = String(seen.metadata['x-forwarded-client-cert']);
    assert.match(xfcc, new RegExp(`^By=${serverId()};Hash=[0-9a-f]{64};URI=${clientId()}$`));
    assert.doesNotMatch(JSON.stringify(seen.metadata), /forged/);
  });

  test('server streaming delivers every message and the final status', async () => {
    const r = await serverStream(client(), { count: 50, payloadSize: 1000 });
    assert.equal(r.status, OK, r.details);
    assert.equal(r.count, 50);
    assert.equal(r.bytes, 50_000);
  });

  test('client streaming counts every message the caller sent', async () => {
    const reqs = Array.from({ length: 40 }, (_, i) => ({ message: `m${i}`, payload: Buffer.alloc(500, i) }));
    const r = await clientStream(client(), reqs);
    assert.equal(r.status, OK, r.details);
    assert.equal(Number(r.reply?.count), 40);
    assert.equal(Number(r.reply?.bytes), 20_000);
  });

  test('bidi streaming echoes each message in order', async () => {
    const reqs = Array.from({ length: 25 }, (_, i) => ({ message: `b${i}` }));
    const r = await bidi(client(), reqs);
    assert.equal(r.status, OK, r.details);
    assert.deepEqual(r.replies.map((x) => x.message), reqs.map((x) => x.message));
  });

  test("the app's own status, message and trailers reach the caller unchanged", async () => {
    const r = await unary(client(), { message: 'nope', failCode: 5 });
    assert.equal(r.status, 5);
    assert.match(r.details, /.+/);
    const s = await serverStream(client(), { count: 3, failCode: 9 });
    assert.equal(s.count, 3);
    assert.equal(s.status, 9);
  });
});

describe('deadlines and cancellation', () => {
  test("the caller's grpc-timeout reaches the app and is enforced", async () => {
    const before = app.calls.length;
    const started = Date.now();
    const r = await unary(client(), { message: 'slow', sleepMs: 3000 }, { deadlineMs: 300 });
    assert.equal(r.status, DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 2000, 'answered near the deadline');
    const seen = app.calls.slice(before).find((c) => c.method === methodPaths.unary);
    const timeout = String(seen?.headers['grpc-timeout']);
    assert.match(timeout, /^\d+[mu]$/);
    assert.ok(parseInt(timeout, 10) <= 300_000, `grpc-timeout ${timeout} is at most the caller's`);
  });

  test('a caller cancelling reaches the app as a cancellation', async () => {
    const before = app.calls.length;
    const r = await unary(client(), { message: 'cancel me', sleepMs: 5000 }, { cancelAfterMs: 200 });
    assert.equal(r.status, 1 /* CANCELLED, client side */);
    const deadline = Date.now() + 3000;
    let seen;
    while (Date.now() < deadline) {
      seen = app.calls.slice(before).find((c) => c.method === methodPaths.unary);
      if (seen?.cancelled) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(seen?.cancelled, true, 'the app saw the cancellation');
  });
});

describe('flow control', () => {
  test('a slow reader of a large stream does not make the sidecar buffer it', async () => {
    const rssBefore = sidecar.memoryRssBytes();
    const before = app.calls.length;
    // 4,000 × 64 KiB = 250 MiB offered; the reader takes one message every 2 ms for 400 ms, then stops.
    let received = 0;
    const c = client();
    const call = c.ServerStream({ count: 4000, payloadSize: 65536 }, toMetadata());
    const done = new Promise<void>((resolve) => {
      call.on('data', () => {
        received++;
        call.pause();
        setTimeout(() => call.resume(), 2);
      });
      call.on('error', () => resolve());
      call.on('end', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 1500));
    call.pause();
    await new Promise((r) => setTimeout(r, 500));
    const seen = app.calls.slice(before).find((x) => x.method === methodPaths.serverStream);
    const rssDuring = sidecar.memoryRssBytes();
    call.cancel();
    await done;
    assert.ok(seen, 'the app saw the call');
    assert.ok(seen.sent < 4000, `the app was held back by flow control (sent ${seen.sent})`);
    // Whatever is in flight is bounded by the HTTP/2 windows (a few MiB), not by the stream size.
    const grownMiB = (rssDuring - rssBefore) / 2 ** 20;
    assert.ok(seen.sent - received < 200, `in flight between app and reader: ${seen.sent - received} messages`);
    assert.ok(grownMiB < 64, `sidecar RSS grew ${grownMiB.toFixed(1)} MiB`);
  });

  test('a large stream read at full speed arrives whole', async () => {
    const r = await serverStream(client(), { count: 400, payloadSize: 256 * 1024 }, { collect: false, deadlineMs: 30_000 });
    assert.equal(r.status, OK, r.details);
    assert.equal(r.bytes, 400 * 256 * 1024);
  });
});

describe('the app going away', () => {
  test('app down → 14 UNAVAILABLE; app back on the same port → calls succeed again', async () => {
    const port = app.port;
    await app.close();
    const down = await unary(client(), { message: 'anyone?' });
    assert.equal(down.status, UNAVAILABLE, down.details);
    app = await startEchoApp({ port });
    let status = -1;
    for (let i = 0; i < 50 && status !== OK; i++) {
      status = (await unary(client(), { message: 'back?' })).status;
      if (status !== OK) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, OK);
    assert.equal(sidecar.proc.exitCode, null, 'the sidecar is still running');
  });
});

describe('shutdown', () => {
  test('SIGTERM lets an in-flight call finish, then exits 0', async () => {
    const inflight = unary(client(), { message: 'finishing', sleepMs: 600 });
    await new Promise((r) => setTimeout(r, 150));
    const exit = sidecar.stop('SIGTERM');
    const r = await inflight;
    assert.equal(r.status, OK, r.details);
    assert.equal(await exit, 0);
    // The last lines say what the drain did and how the process ends.
    const logs = sidecar.logs();
    assert.deepEqual(
      logs.filter((l) => l.msg === 'drained').map((l) => [l.callsFinished, l.callsCut]),
      [[1, 0]],
    );
    assert.equal(logs.at(-1)?.msg, 'stopped');
    assert.equal(logs.at(-1)?.exitCode, 0);
  });
});
