// The codec's defences (what nghttp2 and Envoy's edge defaults give): rapid reset, SETTINGS,
// PING, PRIORITY, empty-frame and WINDOW_UPDATE floods end in GOAWAY ENHANCE_YOUR_CALM;
// header lists over the limit and CONTINUATION floods; a peer that does not read; the
// handshake and idle timeouts; the graceful drain (GOAWAY, open streams finish).

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ErrorCode, FrameType } from './constants.js';
import { DEFAULT_FLOOD_LIMITS } from './flood-guard.js';
import { frame, RawPeer, requestFields, u32 } from './test-support/raw-peer.js';
import { startEchoServer, type EchoServer } from './test-support/echo-server.js';
import type { H2Options } from './options.js';

const { ENHANCE_YOUR_CALM } = ErrorCode;
const servers: EchoServer[] = [];
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  for (const s of servers.splice(0)) await s.close();
});

async function setup(options: Partial<H2Options> = {}, hold = false): Promise<{ server: EchoServer; peer: RawPeer }> {
  const server = await startEchoServer(options, { hold });
  servers.push(server);
  const peer = await RawPeer.connect(server.port);
  peers.push(peer);
  await peer.handshake();
  return { server, peer };
}

describe('floods end in GOAWAY ENHANCE_YOUR_CALM', () => {
  test('rapid reset: HEADERS + RST_STREAM pairs over the budget', async () => {
    const { server, peer } = await setup();
    const frames: Buffer[] = [];
    for (let i = 0; i < DEFAULT_FLOOD_LIMITS.resetsPer10s + 50; i++) {
      const id = 1 + 2 * i;
      frames.push(peer.headers(id, requestFields(), false), frame(FrameType.RST_STREAM, 0, id, u32(ErrorCode.CANCEL)));
    }
    peer.send(...frames);
    await peer.expectGoaway(ENHANCE_YOUR_CALM);
    assert.ok(server.requests.length <= DEFAULT_FLOOD_LIMITS.resetsPer10s + 1, `${server.requests.length} streams reached the handler`);
  });
  test('streams refused over the concurrency limit: free within an allowance, then they count as resets', async () => {
    const floods = { ...DEFAULT_FLOOD_LIMITS, resetsPer10s: 5, freeRefusalsPer10s: 20 };
    const { server, peer } = await setup({ maxConcurrentStreams: 1, floods }, true);
    peer.send(peer.headers(1, requestFields(), true));
    await waitFor(() => server.held.length === 1);
    // A client that had not seen our SETTINGS: 20 streams over the limit, each refused alone, the connection kept.
    const early = Array.from({ length: 20 }, (_, i) => 3 + 2 * i);
    peer.send(...early.map((id) => peer.headers(id, requestFields(), true)));
    for (const id of early) await peer.expectReset(id, ErrorCode.REFUSED_STREAM);
    await peer.expectAlive();
    server.release(server.held[0]!);
    assert.equal((await peer.response(1)).status, '200');
    // One that keeps doing it: past the allowance each refusal spends the reset budget (5).
    peer.send(peer.headers(43, requestFields(), true));
    await waitFor(() => server.held.length === 1);
    peer.send(...Array.from({ length: 10 }, (_, i) => peer.headers(45 + 2 * i, requestFields(), true)));
    await peer.expectGoaway(ENHANCE_YOUR_CALM);
  });
  test('SETTINGS flood', async () => {
    const { peer } = await setup();
    peer.send(...Array.from({ length: DEFAULT_FLOOD_LIMITS.settingsPer10s + 10 }, () => frame(FrameType.SETTINGS, 0, 0)));
    await peer.expectGoaway(ENHANCE_YOUR_CALM);
  });
  test('PING flood', async () => {
    const { peer } = await setup();
    const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    peer.send(...Array.from({ length: DEFAULT_FLOOD_LIMITS.pingsPer10s + 10 }, () => ping));
    await peer.expectGoaway(ENHANCE_YOUR_CALM);
  });
  test('PRIORITY flood', async () => {
    const { peer } = await setup();
    const frames = Array.from({ length: DEFAULT_FLOOD_LIMITS.prioritiesPerStream + 10 }, (_, i) => frame(FrameType.PRIORITY, 0, 1 + 2 * i, Buffer.from([0, 0, 0, 0, 16])));
    peer.send(...frames);
    await peer.expectGoaway(ENHANCE_YOUR_CALM);
  });
  test('empty DATA flood', async () => {
    const { peer } = await setup({}, true);
    peer.send(peer.headers(1, requestFields(), false), ...Array.from({ length: 50 }, () => frame(FrameType.DATA, 0, 1)));
    await peer.expectGoaway(ENHANCE_YOUR_CALM);
  });
  test('WINDOW_UPDATE flood', async () => {
    const { peer } = await setup();
    peer.send(...Array.from({ length: 1200 }, () => frame(FrameType.WINDOW_UPDATE, 0, 0, u32(1))));
    await peer.expectGoaway(ENHANCE_YOUR_CALM);
  });
  test('CONTINUATION flood (CVE-2024-27316): many empty CONTINUATION frames', async () => {
    const { server, peer } = await setup();
    const block = peer.encoder.encode(requestFields(), 0);
    peer.send(frame(FrameType.HEADERS, 0, 1, block), ...Array.from({ length: 100 }, () => frame(FrameType.CONTINUATION, 0, 1)));
    await peer.expectGoaway(ENHANCE_YOUR_CALM);
    assert.equal(server.requests.length, 0);
  });
  test('CONTINUATION flood: a header block over the size bound', async () => {
    const { peer } = await setup();
    const chunk = Buffer.alloc(16_000, 0x40);
    // 6 × 16,000 octets: over the 80 KiB kept to decode one block.
    peer.send(frame(FrameType.HEADERS, 0, 1, chunk), ...Array.from({ length: 5 }, () => frame(FrameType.CONTINUATION, 0, 1, chunk)));
    await peer.expectGoaway(ENHANCE_YOUR_CALM);
  });
  test('ordinary traffic stays well within every budget', async () => {
    const { peer } = await setup();
    for (let round = 0; round < 5; round++) {
      const ids = Array.from({ length: 20 }, (_, i) => 1 + 2 * (round * 20 + i));
      peer.send(...ids.flatMap((id) => [peer.headers(id, requestFields(), false), peer.data(id, 'x', true)]));
      for (const id of ids) assert.equal((await peer.response(id)).status, '200');
      await peer.expectAlive();
    }
  });
});

describe('header list limits', () => {
  test('a header list over SETTINGS_MAX_HEADER_LIST_SIZE is refused alone (RST_STREAM ENHANCE_YOUR_CALM)', async () => {
    const { server, peer } = await setup();
    peer.send(peer.headers(1, requestFields('/', 'POST', ['x-big', 'a'.repeat(17_000)]), true));
    await peer.expectReset(1, ENHANCE_YOUR_CALM);
    peer.send(peer.headers(3, requestFields(), true));
    assert.equal((await peer.response(3)).status, '200');
    assert.equal(server.requests.length, 1);
  });
  test('more fields than allowed are refused alone', async () => {
    const { server, peer } = await setup({ maxHeaderFields: 64 });
    const extra = Array.from({ length: 120 }, (_, i) => [`x-h-${i}`, 'v']).flat();
    peer.send(peer.headers(1, requestFields('/', 'POST', extra), true));
    await peer.expectReset(1, ENHANCE_YOUR_CALM);
    await peer.expectAlive();
    assert.equal(server.requests.length, 0);
  });
});

describe('a peer that does not read', () => {
  test('its unread answers are bounded: over the bound the connection is cut', async () => {
    const server = await startEchoServer({ maxUnwrittenBytes: 256 * 1024 });
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    peers.push(peer);
    await peer.handshake();
    peer.socket.pause(); // stop reading: PING ACKs pile up in the server's socket
    const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    const burst = Buffer.concat(Array.from({ length: 2000 }, () => ping));
    const conn = server.connections[0]!;
    for (let i = 0; i < 200 && !conn.isClosed; i++) {
      peer.socket.write(burst);
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.ok(conn.isClosed, 'the server gave up on the connection');
  });
});

describe('timeouts', () => {
  test('no preface in time: the connection is closed', async () => {
    const server = await startEchoServer({ handshakeTimeoutMs: 200 });
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    peers.push(peer);
    await peer.waitClosed(3000);
  });
  test('idle (no streams): GOAWAY NO_ERROR, then closed; a connection with a stream open is kept', async () => {
    const server = await startEchoServer({ idleTimeoutMs: 300 }, { hold: true });
    servers.push(server);
    const busy = await RawPeer.connect(server.port);
    const idle = await RawPeer.connect(server.port);
    peers.push(busy, idle);
    await busy.handshake();
    await idle.handshake();
    busy.send(busy.headers(1, requestFields(), true));
    await idle.waitClosed(3000);
    const g = idle.frames.find((f) => f.type === FrameType.GOAWAY);
    assert.equal(g?.payload.readUInt32BE(4), ErrorCode.NO_ERROR);
    await busy.expectAlive();
    server.release(server.held[0]!);
    assert.equal((await busy.response(1)).status, '200');
  });
});

describe('graceful drain', () => {
  test('GOAWAY (2^31-1), PING, then GOAWAY with the last stream; open streams finish; later ones are refused', async () => {
    const { server, peer } = await setup({}, true);
    peer.send(peer.headers(1, requestFields(), true));
    await waitFor(() => server.held.length === 1);
    server.connections[0]!.close();
    const first = await peer.waitFrame((f) => f.type === FrameType.GOAWAY);
    assert.equal(first.payload.readUInt32BE(0), 0x7fffffff);
    const ping = await peer.waitFrame((f) => f.type === FrameType.PING && f.flags === 0);
    // A stream the client sent before it saw the GOAWAY is still served.
    peer.send(peer.headers(3, requestFields(), true), frame(FrameType.PING, 1, 0, ping.payload));
    const last = await peer.waitFrame((f) => f.type === FrameType.GOAWAY && f.payload.readUInt32BE(0) !== 0x7fffffff);
    assert.equal(last.payload.readUInt32BE(0), 3);
    assert.equal(last.payload.readUInt32BE(4), ErrorCode.NO_ERROR);
    peer.send(peer.headers(5, requestFields(), true));
    await peer.expectReset(5, ErrorCode.REFUSED_STREAM);
    await waitFor(() => server.held.length === 2);
    for (const s of [...server.held]) server.release(s);
    assert.equal((await peer.response(1)).status, '200');
    assert.equal((await peer.response(3)).status, '200');
    await peer.waitClosed();
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
