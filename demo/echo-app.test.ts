// The echo app on its own, over h2c: the four call kinds, metadata echo, fail_code,
// cancellation, backpressure and the recording of calls grpc-js refuses itself.

import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  bidi,
  clientStream,
  closeAllClients,
  echoClient,
  ping,
  adminClient,
  serverStream,
  unary,
} from '../integration/support/grpc-clients.js';
import * as http2 from 'node:http2';
import { closeSession, grpcFrame, openSession, rawRequest } from '../integration/support/raw-h2.js';
import { startEchoApp, type EchoApp, type RecordedCall } from './echo-app.js';
import { echoService, methodPaths, type EchoServiceClient } from './proto.js';

/** Polls (bounded) until `pred` holds: server-side records land a tick after the client sees the status. */
async function eventually(pred: () => boolean, what: string, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('echo app', () => {
  let app: EchoApp;
  let client: EchoServiceClient;
  const target = (): string => `127.0.0.1:${app.port}`;
  const last = (method: string): RecordedCall | undefined => app.calls.filter((c) => c.method === method).at(-1);

  before(async () => {
    app = await startEchoApp();
    client = echoClient(target(), 'insecure');
  });
  after(async () => {
    closeAllClients();
    await app.close();
  });

  it('Unary echoes message, payload and the metadata it saw', async () => {
    const res = await unary(client, { message: 'hi', payload: Buffer.from('abc') }, { metadata: { 'x-test': 'one', 'x-bin-bin': Buffer.from([1, 2]) } });
    assert.equal(res.status, grpc.status.OK);
    assert.equal(res.reply?.message, 'hi');
    assert.deepEqual(res.reply?.payload, Buffer.from('abc'));
    assert.equal(res.reply?.count, 1);
    assert.equal(res.reply?.bytes, 3);
    assert.equal(res.reply?.metadata['x-test'], 'one');
    assert.equal(res.reply?.metadata['x-bin-bin'], Buffer.from([1, 2]).toString('base64'));
    assert.equal(res.reply?.metadata['x-echo-app-record'], undefined);
    const rec = last(methodPaths.unary);
    assert.ok(rec);
    assert.equal(rec.metadata['x-test'], 'one');
    assert.equal(rec.headers[':path'], methodPaths.unary);
    assert.equal(rec.headers['content-type'], 'application/grpc');
    assert.match(String(rec.headers['grpc-timeout']), /^\d+[HMSmun]$/);
    assert.equal(rec.received, 1);
    assert.equal(rec.cancelled, false);
    assert.equal(rec.status, grpc.status.OK);
  });

  it('Unary answers fail_code with that status', async () => {
    const res = await unary(client, { failCode: grpc.status.PERMISSION_DENIED });
    assert.equal(res.status, grpc.status.PERMISSION_DENIED);
    assert.match(res.details, /fail_code 7/);
    assert.equal(res.reply, undefined);
    assert.equal(last(methodPaths.unary)?.status, grpc.status.PERMISSION_DENIED);
  });

  it('a cancelled Unary is recorded cancelled and stops sleeping', async () => {
    const started = Date.now();
    const res = await unary(client, { sleepMs: 30_000, message: 'slow' }, { cancelAfterMs: 100 });
    assert.equal(res.status, grpc.status.CANCELLED);
    await eventually(() => last(methodPaths.unary)?.cancelled === true, 'cancelled record');
    const rec = last(methodPaths.unary);
    assert.ok(rec?.endedAt !== undefined && rec.endedAt - started < 5_000);
    assert.equal(rec.status, undefined);
  });

  it('a call reset before its request message arrived is recorded cancelled', async () => {
    const session = await openSession(target(), 'plaintext');
    const stream = session.request({ ':method': 'POST', ':path': methodPaths.unary, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
    stream.on('error', () => {});
    const before = app.calls.length;
    await eventually(() => app.calls.length > before, 'stream recorded');
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await eventually(() => last(methodPaths.unary)?.cancelled === true, 'cancelled record');
    assert.equal(last(methodPaths.unary)?.received, 0);
    await closeSession(session);
  });

  it('a deadline shorter than sleep_ms ends in DEADLINE_EXCEEDED', async () => {
    const res = await unary(client, { sleepMs: 5_000 }, { deadlineMs: 100 });
    assert.equal(res.status, grpc.status.DEADLINE_EXCEEDED);
  });

  it('ServerStream sends count messages of payload_size, then fail_code if set', async () => {
    const ok = await serverStream(client, { count: 5, payloadSize: 10, message: 's' });
    assert.equal(ok.status, grpc.status.OK);
    assert.deepEqual(ok.replies.map((r) => r.count), [1, 2, 3, 4, 5]);
    assert.equal(ok.bytes, 50);
    const failed = await serverStream(client, { count: 2, failCode: grpc.status.UNAVAILABLE });
    assert.equal(failed.status, grpc.status.UNAVAILABLE);
    assert.equal(failed.count, 2);
  });

  it('ServerStream stops writing while the reader does not read', async () => {
    const call = client.ServerStream({ count: 10_000, payloadSize: 64 * 1024 }, new grpc.Metadata(), { deadline: Date.now() + 10_000 });
    let received = 0;
    call.on('data', () => {
      received++;
      if (received === 1) call.pause();
    });
    call.on('error', () => {});
    await eventually(() => received >= 1, 'first message');
    // Give the server time to fill every buffer between it and the paused reader.
    await new Promise((r) => setTimeout(r, 300));
    const status = new Promise<number>((resolve) => call.on('status', (s: grpc.StatusObject) => resolve(s.code)));
    call.cancel();
    assert.equal(await status, grpc.status.CANCELLED);
    await eventually(() => last(methodPaths.serverStream)?.cancelled === true, 'cancelled stream');
    // 10,000 × 64 KiB = 625 MiB if unbounded; flow control holds it to a few MiB.
    assert.ok(received < 200, `received ${received} messages`);
    const sent = last(methodPaths.serverStream)?.sent ?? Infinity;
    assert.ok(sent < 200, `app wrote ${sent} messages to a paused reader`);
  });

  it('ClientStream counts messages and bytes', async () => {
    const reqs = Array.from({ length: 4 }, (_, i) => ({ message: `m${i}`, payload: Buffer.alloc(100) }));
    const res = await clientStream(client, reqs, { metadata: { 'x-kind': 'client' } });
    assert.equal(res.status, grpc.status.OK);
    assert.equal(res.reply?.count, 4);
    assert.equal(res.reply?.bytes, 400);
    assert.equal(res.reply?.message, 'm3');
    assert.equal(res.reply?.metadata['x-kind'], 'client');
    assert.equal(last(methodPaths.clientStream)?.received, 4);
  });

  it('Bidi echoes each message in order and fails on fail_code', async () => {
    const res = await bidi(client, [{ message: 'a' }, { message: 'b', sleepMs: 20 }, { message: 'c' }]);
    assert.equal(res.status, grpc.status.OK);
    assert.deepEqual(res.replies.map((r) => [r.message, r.count]), [['a', 1], ['b', 2], ['c', 3]]);
    const failed = await bidi(client, [{ message: 'a' }, { failCode: grpc.status.RESOURCE_EXHAUSTED }]);
    assert.equal(failed.status, grpc.status.RESOURCE_EXHAUSTED);
    assert.deepEqual(failed.replies.map((r) => r.message), ['a']);
    assert.equal(last(methodPaths.bidi)?.status, grpc.status.RESOURCE_EXHAUSTED);
  });

  it('Admin/Ping answers', async () => {
    const res = await ping(adminClient(target(), 'insecure'), { message: 'p' });
    assert.equal(res.status, grpc.status.OK);
    assert.equal(res.reply?.message, 'p');
    assert.ok(last(methodPaths.ping));
  });

  it('records calls grpc-js refuses without a handler', async () => {
    const body = grpcFrame(echoService.Unary!.requestSerialize({ message: 'x' }));
    const unknown = await rawRequest(target(), 'plaintext', { path: '/meshward.demo.v1.Echo/../Admin/Ping', body });
    assert.equal(unknown.status, 200);
    assert.equal(unknown.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
    assert.equal(last('/meshward.demo.v1.Echo/../Admin/Ping')?.unhandled, 'unimplemented');

    const json = await rawRequest(target(), 'plaintext', { path: methodPaths.unary, contentType: 'application/json', body: '{}' });
    assert.equal(json.status, 415);
    const rec = last(methodPaths.unary);
    assert.equal(rec?.unhandled, 'unsupported-media-type');
    assert.equal(rec?.headers['content-type'], 'application/json');
  });
});
