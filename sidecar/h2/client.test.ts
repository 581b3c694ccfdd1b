// The codec's client side (the upstream connection to the app) against a raw server: the
// server's SETTINGS honoured (concurrency, windows, frame size), responses, trailers and
// trailers-only answers, GOAWAY (streams above its last id refused, safe to retry),
// malformed responses, push refused, and a lost connection failing the open streams.

import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { H2Connection } from './connection.js';
import { ErrorCode, FrameType, SettingId } from './constants.js';
import { DEFAULT_H2_OPTIONS } from './options.js';
import type { H2Stream, StreamHandler } from './stream.js';
import { frame, RawPeer, settingsPayload, u32 } from './test-support/raw-peer.js';

interface Outcome {
  status?: number;
  headers?: string[];
  body: string;
  trailers?: string[];
  reset?: { code: number; byPeer: boolean };
  closed: boolean;
  sent: number;
}

function recorder(): { handler: StreamHandler; outcomes: Map<number, Outcome> } {
  const outcomes = new Map<number, Outcome>();
  const of = (s: H2Stream): Outcome => {
    let o = outcomes.get(s.id);
    if (o === undefined) outcomes.set(s.id, (o = { body: '', closed: false, sent: 0 }));
    return o;
  };
  const handler: StreamHandler = {
    onResponse(s, headers, status) {
      Object.assign(of(s), { status, headers });
    },
    onData(s, buf, _f, off, len) {
      of(s).body += buf.toString('latin1', off, off + len);
      s.consumed(len);
    },
    onTrailers(s, trailers) {
      of(s).trailers = trailers;
    },
    onReset(s, code, byPeer) {
      of(s).reset = { code, byPeer };
    },
    onSent(s, n) {
      of(s).sent += n;
    },
    onComplete(s) {
      of(s).closed = true;
    },
  };
  return { handler, outcomes };
}

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

/** A raw server and our client connection to it, handshake done both ways. */
async function pair(serverSettings: [number, number][] = []): Promise<{ server: RawPeer; client: H2Connection; rec: ReturnType<typeof recorder> }> {
  let accepted!: (p: RawPeer) => void;
  const got = new Promise<RawPeer>((r) => (accepted = r));
  const listener = net.createServer((s) => accepted(RawPeer.accept(s)));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const socket = net.connect((listener.address() as AddressInfo).port, '127.0.0.1');
  const rec = recorder();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const client = new H2Connection(socket, 'client', DEFAULT_H2_OPTIONS, { onReady: () => ready() });
  const server = await got;
  cleanup.push(() => {
    client.destroy();
    server.close();
    listener.close();
  });
  await server.waitFrame((f) => f.type === FrameType.SETTINGS);
  server.send(frame(FrameType.SETTINGS, 0, 0, settingsPayload(serverSettings)), frame(FrameType.SETTINGS, 1, 0));
  await isReady;
  return { server, client, rec };
}

const request = [':method', 'POST', ':scheme', 'http', ':path', '/pkg.Svc/M', ':authority', 'app'];

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('client connection', () => {
  test('sends the preface, SETTINGS without push, and a request; gets response, DATA and trailers', async () => {
    const { server, client, rec } = await pair();
    const settings = server.frames.find((f) => f.type === FrameType.SETTINGS)!;
    assert.ok(settings.payload.includes(Buffer.from([0, SettingId.ENABLE_PUSH, 0, 0, 0, 0])));
    const s = client.request(request, false, rec.handler)!;
    s.write(Buffer.from('ping'), true);
    const h = await server.waitFrame((f) => f.type === FrameType.HEADERS);
    assert.deepEqual(server.decode(h), request);
    const d = await server.waitFrame((f) => f.type === FrameType.DATA);
    assert.equal(d.payload.toString(), 'ping');
    assert.equal(d.flags & 1, 1);
    server.send(
      server.headers(1, [':status', '200', 'content-type', 'application/grpc'], false),
      server.data(1, 'pong', false),
      server.headers(1, ['grpc-status', '0'], true),
    );
    await until(() => rec.outcomes.get(1)?.closed === true);
    const o = rec.outcomes.get(1)!;
    assert.equal(o.status, 200);
    assert.equal(o.body, 'pong');
    assert.deepEqual(o.trailers, ['grpc-status', '0']);
    assert.equal(client.activeStreams, 0);
  });

  test('a trailers-only answer (HEADERS with END_STREAM)', async () => {
    const { server, client, rec } = await pair();
    client.request(request, true, rec.handler);
    await server.waitFrame((f) => f.type === FrameType.HEADERS);
    server.send(server.headers(1, [':status', '200', 'grpc-status', '7'], true));
    await until(() => rec.outcomes.get(1)?.closed === true);
    assert.deepEqual(rec.outcomes.get(1)!.headers, [':status', '200', 'grpc-status', '7']);
  });

  test('1xx responses are skipped', async () => {
    const { server, client, rec } = await pair();
    client.request(request, true, rec.handler);
    await server.waitFrame((f) => f.type === FrameType.HEADERS);
    server.send(server.headers(1, [':status', '100'], false), server.headers(1, [':status', '200'], true));
    await until(() => rec.outcomes.get(1)?.closed === true);
    assert.equal(rec.outcomes.get(1)!.status, 200);
  });

  test("the server's SETTINGS_MAX_CONCURRENT_STREAMS: no stream over it", async () => {
    const { server, client, rec } = await pair([[SettingId.MAX_CONCURRENT_STREAMS, 2]]);
    assert.ok(client.request(request, true, rec.handler));
    assert.ok(client.request(request, true, rec.handler));
    assert.equal(client.canOpenStream(), false);
    assert.equal(client.request(request, true, rec.handler), undefined);
    server.send(server.headers(1, [':status', '200'], true));
    await until(() => client.canOpenStream());
  });

  test("the server's windows: DATA waits for WINDOW_UPDATE, in frames of the server's size", async () => {
    const { server, client, rec } = await pair([[SettingId.INITIAL_WINDOW_SIZE, 10]]);
    const s = client.request(request, false, rec.handler)!;
    assert.equal(s.write(Buffer.from('0123456789abcdefghij'), true), 10, '10 octets wait for window');
    await server.waitFrame((f) => f.type === FrameType.DATA);
    assert.equal(server.frames.filter((f) => f.type === FrameType.DATA)[0]!.payload.toString(), '0123456789');
    server.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(100)));
    const last = await server.waitFrame((f) => f.type === FrameType.DATA && (f.flags & 1) === 1);
    assert.equal(last.payload.toString(), 'abcdefghij');
    await until(() => rec.outcomes.get(1)?.sent === 10);
  });

  test('trailers wait behind DATA that waits for window', async () => {
    const { server, client, rec } = await pair([[SettingId.INITIAL_WINDOW_SIZE, 4]]);
    const s = client.request(request, false, rec.handler)!;
    s.write(Buffer.from('12345678'), false);
    s.trailers(['x-t', '1']);
    await server.waitFrame((f) => f.type === FrameType.DATA);
    assert.ok(!server.frames.some((f) => f.type === FrameType.HEADERS && f.streamId === 1 && (f.flags & 1) === 1));
    server.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(4)));
    const t = await server.waitFrame((f) => f.type === FrameType.HEADERS && (f.flags & 1) === 1);
    assert.deepEqual(server.decode(t), ['x-t', '1']);
  });

  test('GOAWAY: streams above its last id fail as REFUSED_STREAM, the others finish, no new streams', async () => {
    const { server, client, rec } = await pair();
    for (let i = 0; i < 3; i++) client.request(request, true, rec.handler);
    await until(() => server.frames.filter((f) => f.type === FrameType.HEADERS).length === 3);
    server.send(frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(1), u32(ErrorCode.NO_ERROR)])));
    await until(() => rec.outcomes.get(5)?.reset !== undefined);
    assert.equal(rec.outcomes.get(3)!.reset!.code, ErrorCode.REFUSED_STREAM);
    assert.equal(client.canOpenStream(), false);
    server.send(server.headers(1, [':status', '200'], true));
    await until(() => rec.outcomes.get(1)?.closed === true);
    await server.waitClosed();
  });

  test('a response without :status is a stream PROTOCOL_ERROR', async () => {
    const { server, client, rec } = await pair();
    client.request(request, true, rec.handler);
    await server.waitFrame((f) => f.type === FrameType.HEADERS);
    server.send(server.headers(1, ['content-type', 'x'], true));
    await server.expectReset(1, ErrorCode.PROTOCOL_ERROR);
    assert.deepEqual(rec.outcomes.get(1)!.reset, { code: ErrorCode.PROTOCOL_ERROR, byPeer: false });
  });

  test('PUSH_PROMISE and SETTINGS_ENABLE_PUSH 1 from a server are PROTOCOL_ERRORs', async () => {
    const a = await pair();
    a.client.request(request, true, a.rec.handler);
    a.server.send(frame(FrameType.PUSH_PROMISE, 4, 1, Buffer.concat([u32(2), Buffer.from([0x82])])));
    await a.server.expectGoaway(ErrorCode.PROTOCOL_ERROR);
    assert.equal(a.rec.outcomes.get(1)!.reset!.byPeer, false);
    const b = await pair();
    b.server.send(frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.ENABLE_PUSH, 1]])));
    await b.server.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });

  test('the server resets a stream: the handler hears the code', async () => {
    const { server, client, rec } = await pair();
    client.request(request, false, rec.handler);
    await server.waitFrame((f) => f.type === FrameType.HEADERS);
    server.send(frame(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL)));
    await until(() => rec.outcomes.get(1)?.reset !== undefined);
    assert.deepEqual(rec.outcomes.get(1)!.reset, { code: ErrorCode.CANCEL, byPeer: true });
  });

  test('the connection is lost: open streams fail', async () => {
    const { server, client, rec } = await pair();
    client.request(request, false, rec.handler);
    await server.waitFrame((f) => f.type === FrameType.HEADERS);
    server.close();
    await until(() => rec.outcomes.get(1)?.reset !== undefined);
    assert.equal(client.isClosed, true);
  });

  test('connection refused: the stream opened before the connect fails', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const rec = recorder();
    const client = new H2Connection(net.connect(port, '127.0.0.1'), 'client', DEFAULT_H2_OPTIONS, {});
    client.request(request, true, rec.handler);
    await until(() => rec.outcomes.get(1)?.reset !== undefined);
  });
});
