// Server-side conformance of the own codec with RFC 9113 §3–§7, modelled on h2spec's case
// list (http2/3.5 … http2/7): each case writes raw frames and expects what the RFC says —
// the exact error code, GOAWAY then a closed socket for connection errors, RST_STREAM with
// the connection going on for stream errors.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { ErrorCode, Flag, FrameType, PREFACE, SettingId } from './constants.js';
import { frame, RawPeer, requestFields, settingsPayload, u32 } from './test-support/raw-peer.js';
import { startEchoServer, type EchoServer } from './test-support/echo-server.js';

let server: EchoServer;
let peer: RawPeer;
const open: RawPeer[] = [];

before(async () => {
  server = await startEchoServer();
});
after(async () => {
  await server.close();
});
afterEach(() => {
  for (const p of open.splice(0)) p.close();
});

async function connected(settings: [number, number][] = []): Promise<RawPeer> {
  const p = await RawPeer.connect(server.port);
  open.push(p);
  await p.handshake(settings);
  return p;
}

const { PROTOCOL_ERROR, FRAME_SIZE_ERROR, STREAM_CLOSED, FLOW_CONTROL_ERROR, COMPRESSION_ERROR } = ErrorCode;

describe('§3.4 connection preface', () => {
  test('the server preface (SETTINGS) is the first frame sent', async () => {
    peer = await RawPeer.connect(server.port);
    open.push(peer);
    peer.send(PREFACE, frame(FrameType.SETTINGS, 0, 0));
    await peer.waitFrame(() => true);
    assert.equal(peer.frames[0]!.type, FrameType.SETTINGS);
    assert.equal(peer.frames[0]!.flags & Flag.ACK, 0);
  });
  test('an invalid preface closes the connection', async () => {
    peer = await RawPeer.connect(server.port);
    open.push(peer);
    peer.send(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n'));
    await peer.waitClosed();
  });
  test('a first frame other than SETTINGS is a PROTOCOL_ERROR', async () => {
    peer = await RawPeer.connect(server.port);
    open.push(peer);
    peer.send(PREFACE, frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
});

describe('§4.1 frame format', () => {
  test('unknown frame types are ignored', async () => {
    peer = await connected();
    peer.send(frame(0xff, 0, 0, Buffer.from('x')));
    await peer.expectAlive();
  });
  test('undefined flags are ignored', async () => {
    peer = await connected();
    const payload = Buffer.from('12345678');
    peer.send(frame(FrameType.PING, 0x16, 0, payload));
    await peer.waitFrame((f) => f.type === FrameType.PING && (f.flags & 1) === 1 && f.payload.equals(payload));
  });
  test('the reserved bit is ignored', async () => {
    peer = await connected();
    const f = peer.headers(1, requestFields(), true);
    f[5]! |= 0x80;
    peer.send(f);
    assert.equal((await peer.response(1)).status, '200');
  });
});

describe('§4.2 frame size', () => {
  test('DATA of 2^14 octets is accepted', async () => {
    peer = await connected();
    peer.send(peer.headers(1, requestFields(), false), peer.data(1, Buffer.alloc(16384, 0x61), true));
    const r = await peer.response(1);
    assert.equal(r.body.length, 5 + 16384);
  });
  test('DATA over SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR', async () => {
    peer = await connected();
    peer.send(peer.headers(1, requestFields(), false), peer.data(1, Buffer.alloc(16385), true));
    await peer.expectGoaway(FRAME_SIZE_ERROR);
  });
  test('HEADERS over SETTINGS_MAX_FRAME_SIZE is a connection FRAME_SIZE_ERROR', async () => {
    peer = await connected();
    peer.send(frame(FrameType.HEADERS, 0x5, 1, Buffer.alloc(16385, 0x40)));
    await peer.expectGoaway(FRAME_SIZE_ERROR);
  });
});

describe('§4.3 header compression', () => {
  test('an invalid header block is a COMPRESSION_ERROR', async () => {
    peer = await connected();
    peer.send(frame(FrameType.HEADERS, 0x5, 1, Buffer.from([0x00, 0x01, 0x61, 0x7f]))); // truncated value
    await peer.expectGoaway(COMPRESSION_ERROR);
  });
  test('PRIORITY inside a header block is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    const h = peer.headers(1, requestFields(), true);
    h[4] = 0x1; // no END_HEADERS
    peer.send(h, frame(FrameType.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 0, 16])));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
  test('HEADERS for another stream inside a header block is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    const h = peer.headers(1, requestFields(), true);
    h[4] = 0x1;
    peer.send(h, peer.headers(3, requestFields(), true));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
});

describe('§5.1 stream states', () => {
  test('idle: DATA, RST_STREAM, WINDOW_UPDATE, CONTINUATION are PROTOCOL_ERRORs', async () => {
    for (const f of [
      frame(FrameType.DATA, 1, 1, Buffer.from('x')),
      frame(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL)),
      frame(FrameType.WINDOW_UPDATE, 0, 1, u32(100)),
      frame(FrameType.CONTINUATION, 4, 1, Buffer.from([0x82])),
    ]) {
      peer = await connected();
      peer.send(f);
      await peer.expectGoaway(PROTOCOL_ERROR);
    }
  });
  test('half-closed (remote): DATA and HEADERS are STREAM_CLOSED stream errors', async () => {
    const { HpackEncoder } = await import('./hpack/encoder.js');
    for (const late of ['data', 'headers'] as const) {
      const before = server.requests.length;
      const held = await startEchoServer({}, { hold: true });
      const p = await RawPeer.connect(held.port);
      open.push(p);
      await p.handshake();
      p.send(p.headers(1, requestFields(), true));
      await waitFor(() => held.held.length === 1);
      p.send(late === 'data' ? p.data(1, 'x', true) : frame(FrameType.HEADERS, 0x5, 1, new HpackEncoder().encode(['x-a', 'b'], 0)));
      await p.expectReset(1, STREAM_CLOSED);
      await p.expectAlive();
      await held.close();
      assert.equal(server.requests.length, before);
    }
  });
  test('half-closed (remote): CONTINUATION without HEADERS is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    peer.send(peer.headers(1, requestFields(), true), frame(FrameType.CONTINUATION, 4, 1, Buffer.from([0x82])));
    await peer.expectGoaway(PROTOCOL_ERROR, STREAM_CLOSED);
  });
  test('closed after the peer reset it: DATA and HEADERS are STREAM_CLOSED', async () => {
    peer = await connected();
    peer.send(peer.headers(1, requestFields(), false), frame(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL)));
    peer.send(peer.data(1, 'x', true));
    await peer.expectReset(1, STREAM_CLOSED);
    const from = peer.frames.length;
    peer.send(peer.headers(1, requestFields(), true));
    const again = await peer.waitFrame((f) => f.type === FrameType.RST_STREAM && f.streamId === 1, from);
    assert.equal(again.payload.readUInt32BE(0), STREAM_CLOSED);
    await peer.expectAlive();
  });
  test('closed: DATA after both sides ended is a connection STREAM_CLOSED', async () => {
    peer = await connected();
    peer.send(peer.headers(1, requestFields(), true));
    await peer.response(1);
    peer.send(peer.data(1, 'x', true));
    await peer.expectGoaway(STREAM_CLOSED);
  });
  test('closed: HEADERS after both sides ended is a connection error', async () => {
    peer = await connected();
    peer.send(peer.headers(1, requestFields(), true));
    await peer.response(1);
    peer.send(peer.headers(1, requestFields(), true));
    await peer.expectGoaway(PROTOCOL_ERROR, STREAM_CLOSED);
  });
  test('frames in flight after our own reset are ignored', async () => {
    const limited = await startEchoServer({ maxConcurrentStreams: 1 }, { hold: true });
    const p = await RawPeer.connect(limited.port);
    open.push(p);
    await p.handshake();
    p.send(p.headers(1, requestFields(), true), p.headers(3, requestFields(), false));
    await p.expectReset(3, ErrorCode.REFUSED_STREAM);
    p.send(p.data(3, 'late', true));
    await p.expectAlive();
    await limited.close();
  });
});

describe('§5.1.1 stream identifiers', () => {
  test('an even stream id is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    peer.send(peer.headers(2, requestFields(), true));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
  test('a stream id lower than one already used is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    peer.send(peer.headers(5, requestFields(), true));
    await peer.response(5);
    peer.send(peer.headers(3, requestFields(), true));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
});

describe('§5.1.2 stream concurrency', () => {
  test('a stream over SETTINGS_MAX_CONCURRENT_STREAMS is refused alone; the others finish', async () => {
    const limited = await startEchoServer({ maxConcurrentStreams: 2 }, { hold: true });
    const p = await RawPeer.connect(limited.port);
    open.push(p);
    await p.handshake();
    const max = p.frames.find((f) => f.type === FrameType.SETTINGS)!;
    assert.ok(settingsValues(max.payload).get(SettingId.MAX_CONCURRENT_STREAMS) === 2);
    p.send(p.headers(1, requestFields(), true), p.headers(3, requestFields(), true), p.headers(5, requestFields(), true));
    await p.expectReset(5, ErrorCode.REFUSED_STREAM);
    await waitFor(() => limited.held.length === 2);
    for (const s of [...limited.held]) limited.release(s);
    assert.equal((await p.response(1)).status, '200');
    assert.equal((await p.response(3)).status, '200');
    // A slot is free again.
    p.send(p.headers(7, requestFields(), true));
    await waitFor(() => limited.held.length === 1);
    limited.release(limited.held[0]!);
    assert.equal((await p.response(7)).status, '200');
    await limited.close();
  });
});

describe('§5.3.1 stream dependencies', () => {
  test('HEADERS depending on its own stream is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    const block = peer.encoder.encode(requestFields(), 0);
    peer.send(frame(FrameType.HEADERS, 0x25, 1, Buffer.concat([u32(1), Buffer.from([16]), block])));
    await peer.expectReset(1, PROTOCOL_ERROR);
    await peer.expectAlive();
  });
  test('PRIORITY depending on its own stream is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    peer.send(frame(FrameType.PRIORITY, 0, 1, Buffer.concat([u32(1), Buffer.from([16])])));
    await peer.expectReset(1, PROTOCOL_ERROR);
  });
});

describe('§5.4.1 connection error handling', () => {
  test('after GOAWAY for a connection error the socket is closed', async () => {
    peer = await connected();
    peer.send(frame(FrameType.PING, 0, 3, Buffer.alloc(8)));
    const g = await peer.expectGoaway(PROTOCOL_ERROR);
    assert.equal(g.streamId, 0);
    assert.ok(peer.closed);
  });
});

describe('§5.5 extending HTTP/2', () => {
  test('an unknown extension frame is ignored', async () => {
    peer = await connected();
    peer.send(frame(0x16, 0, 0, Buffer.from('ext')));
    await peer.expectAlive();
  });
  test('an unknown frame inside a header block is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    const h = peer.headers(1, requestFields(), true);
    h[4] = 0x1;
    peer.send(h, frame(0x16, 0, 1, Buffer.from('ext')));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
});

describe('§6.1 DATA', () => {
  test('DATA on stream 0 is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    peer.send(frame(FrameType.DATA, 1, 0, Buffer.from('x')));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
  test('padded DATA is accepted; an invalid pad length is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    peer.send(peer.headers(1, requestFields(), false), frame(FrameType.DATA, 0x9, 1, Buffer.from([3, 0x68, 0x69, 0, 0, 0])));
    assert.equal((await peer.response(1)).body, 'echo:hi');
    peer.send(peer.headers(3, requestFields(), false), frame(FrameType.DATA, 0x9, 3, Buffer.from([5, 0x68, 0, 0, 0])));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
});

describe('§6.2 HEADERS', () => {
  test('padding and priority are accepted', async () => {
    peer = await connected();
    const block = peer.encoder.encode(requestFields(), 0);
    peer.send(frame(FrameType.HEADERS, 0x2d, 1, Buffer.concat([Buffer.from([2]), u32(0), Buffer.from([16]), block, Buffer.alloc(2)])));
    assert.equal((await peer.response(1)).status, '200');
  });
  test('HEADERS on stream 0 is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    peer.send(peer.headers(0, requestFields(), true));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
  test('an invalid pad length is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    peer.send(frame(FrameType.HEADERS, 0xd, 1, Buffer.from([9, 0x82, 0x86])));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
});

describe('§6.3 PRIORITY', () => {
  test('PRIORITY on stream 0 is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    peer.send(frame(FrameType.PRIORITY, 0, 0, Buffer.from([0, 0, 0, 1, 16])));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
  test('PRIORITY of a length other than 5 is a FRAME_SIZE_ERROR', async () => {
    peer = await connected();
    peer.send(frame(FrameType.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 3])));
    await peer.expectReset(1, FRAME_SIZE_ERROR);
  });
  test('PRIORITY on an idle stream does not open it: a lower stream id may follow', async () => {
    peer = await connected();
    peer.send(frame(FrameType.PRIORITY, 0, 9, Buffer.from([0, 0, 0, 0, 16])), peer.headers(3, requestFields(), true));
    assert.equal((await peer.response(3)).status, '200');
  });
});

describe('§6.4 RST_STREAM', () => {
  test('on stream 0: PROTOCOL_ERROR; on an idle stream: PROTOCOL_ERROR; length ≠ 4: FRAME_SIZE_ERROR', async () => {
    for (const [f, code] of [
      [frame(FrameType.RST_STREAM, 0, 0, u32(8)), PROTOCOL_ERROR],
      [frame(FrameType.RST_STREAM, 0, 7, u32(8)), PROTOCOL_ERROR],
      [frame(FrameType.RST_STREAM, 0, 1, Buffer.from([0, 0, 8])), FRAME_SIZE_ERROR],
    ] as const) {
      peer = await connected();
      peer.send(f);
      await peer.expectGoaway(code);
    }
  });
});

describe('§6.5 SETTINGS', () => {
  const cases: [string, Buffer, number][] = [
    ['ACK with a payload', frame(FrameType.SETTINGS, 1, 0, Buffer.alloc(6)), FRAME_SIZE_ERROR],
    ['on a stream', frame(FrameType.SETTINGS, 0, 1, Buffer.alloc(0)), PROTOCOL_ERROR],
    ['length not a multiple of 6', frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(3)), FRAME_SIZE_ERROR],
    ['SETTINGS_ENABLE_PUSH 2', frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.ENABLE_PUSH, 2]])), PROTOCOL_ERROR],
    ['SETTINGS_INITIAL_WINDOW_SIZE 2^31', frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 2 ** 31]])), FLOW_CONTROL_ERROR],
    ['SETTINGS_MAX_FRAME_SIZE 16383', frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.MAX_FRAME_SIZE, 16383]])), PROTOCOL_ERROR],
    ['SETTINGS_MAX_FRAME_SIZE 2^24', frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.MAX_FRAME_SIZE, 2 ** 24]])), PROTOCOL_ERROR],
  ];
  for (const [name, f, code] of cases) {
    test(name, async () => {
      peer = await connected();
      peer.send(f);
      await peer.expectGoaway(code);
    });
  }
  test('an unknown setting is ignored, and SETTINGS is acknowledged', async () => {
    peer = await connected();
    const from = peer.frames.length;
    peer.send(frame(FrameType.SETTINGS, 0, 0, settingsPayload([[0xff, 1]])));
    await peer.waitFrame((f) => f.type === FrameType.SETTINGS && f.flags === 1, from);
    await peer.expectAlive();
  });
  test('values are applied in order: the last INITIAL_WINDOW_SIZE (1) limits DATA to one octet', async () => {
    peer = await connected([
      [SettingId.INITIAL_WINDOW_SIZE, 100],
      [SettingId.INITIAL_WINDOW_SIZE, 1],
    ]);
    peer.send(peer.headers(1, requestFields(), true));
    const d = await peer.waitFrame((f) => f.type === FrameType.DATA && f.streamId === 1);
    assert.equal(d.payload.length, 1);
  });
});

describe('§6.7 PING', () => {
  test('PING is answered with the same payload; a PING ACK is not', async () => {
    peer = await connected();
    await peer.expectAlive();
    const before = peer.frames.length;
    peer.send(frame(FrameType.PING, 1, 0, Buffer.alloc(8)));
    await peer.expectAlive();
    assert.equal(peer.frames.slice(before).filter((f) => f.type === FrameType.PING).length, 1);
  });
  test('on a stream: PROTOCOL_ERROR; length ≠ 8: FRAME_SIZE_ERROR', async () => {
    for (const [f, code] of [
      [frame(FrameType.PING, 0, 1, Buffer.alloc(8)), PROTOCOL_ERROR],
      [frame(FrameType.PING, 0, 0, Buffer.alloc(6)), FRAME_SIZE_ERROR],
    ] as const) {
      peer = await connected();
      peer.send(f);
      await peer.expectGoaway(code);
    }
  });
});

describe('§6.8 GOAWAY', () => {
  test('GOAWAY on a stream is a PROTOCOL_ERROR', async () => {
    peer = await connected();
    peer.send(frame(FrameType.GOAWAY, 0, 1, Buffer.concat([u32(0), u32(0)])));
    await peer.expectGoaway(PROTOCOL_ERROR);
  });
  test('the peer going away lets open streams finish, then the connection closes', async () => {
    const held = await startEchoServer({}, { hold: true });
    const p = await RawPeer.connect(held.port);
    open.push(p);
    await p.handshake();
    p.send(p.headers(1, requestFields(), true), frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(0)])));
    await waitFor(() => held.held.length === 1);
    held.release(held.held[0]!);
    assert.equal((await p.response(1)).status, '200');
    await p.waitClosed();
    await held.close();
  });
});

describe('§6.9 WINDOW_UPDATE and flow control', () => {
  test('increment 0 on the connection: PROTOCOL_ERROR; on a stream: stream PROTOCOL_ERROR; length ≠ 4: FRAME_SIZE_ERROR', async () => {
    peer = await connected();
    peer.send(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0)));
    await peer.expectGoaway(PROTOCOL_ERROR);
    const held = await startEchoServer({}, { hold: true });
    const p = await RawPeer.connect(held.port);
    open.push(p);
    await p.handshake();
    p.send(p.headers(1, requestFields(), false), frame(FrameType.WINDOW_UPDATE, 0, 1, u32(0)));
    await p.expectReset(1, PROTOCOL_ERROR);
    p.send(frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 1])));
    await p.expectGoaway(FRAME_SIZE_ERROR);
    await held.close();
  });
  test('the connection window over 2^31-1 is a FLOW_CONTROL_ERROR (GOAWAY)', async () => {
    peer = await connected();
    peer.send(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)), frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)));
    await peer.expectGoaway(FLOW_CONTROL_ERROR);
  });
  test('a stream window over 2^31-1 is a stream FLOW_CONTROL_ERROR', async () => {
    peer = await connected();
    peer.send(peer.headers(1, requestFields(), false), frame(FrameType.WINDOW_UPDATE, 0, 1, u32(0x7fffffff)), frame(FrameType.WINDOW_UPDATE, 0, 1, u32(0x7fffffff)));
    await peer.expectReset(1, FLOW_CONTROL_ERROR);
    await peer.expectAlive();
  });
  test('a window of 1 gets 1-octet DATA frames; a raised INITIAL_WINDOW_SIZE moves open streams (§6.9.2)', async () => {
    peer = await connected([[SettingId.INITIAL_WINDOW_SIZE, 1]]);
    peer.send(peer.headers(1, requestFields(), true));
    await peer.waitFrame((f) => f.type === FrameType.DATA && f.streamId === 1);
    const from = peer.frames.length;
    peer.send(frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 1000]])));
    const r = await peer.response(1);
    assert.equal(r.body, 'echo:');
    assert.ok(peer.frames.slice(from).some((f) => f.type === FrameType.DATA && f.payload.length === 4));
  });
  test('a negative window is tracked (§6.9.2): DATA resumes only once it is positive again', async () => {
    const held = await startEchoServer({}, { hold: true });
    const p = await RawPeer.connect(held.port);
    open.push(p);
    await p.handshake([[SettingId.INITIAL_WINDOW_SIZE, 3]]);
    p.send(p.headers(1, requestFields(), true));
    await waitFor(() => held.held.length === 1);
    held.release(held.held[0]!);
    await p.waitFrame((f) => f.type === FrameType.DATA && f.streamId === 1); // 3 octets
    p.send(frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 0]]))); // window -3
    p.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(3))); // back to 0: still nothing
    await p.expectAlive();
    assert.equal(p.frames.filter((f) => f.type === FrameType.DATA).length, 1);
    p.send(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(2)));
    const r = await p.response(1);
    assert.equal(r.body, 'echo:');
    await held.close();
  });
  test('SETTINGS_INITIAL_WINDOW_SIZE that overflows an open stream window is a FLOW_CONTROL_ERROR', async () => {
    const held = await startEchoServer({}, { hold: true });
    const p = await RawPeer.connect(held.port);
    open.push(p);
    await p.handshake();
    p.send(p.headers(1, requestFields(), true), frame(FrameType.WINDOW_UPDATE, 0, 1, u32(0x7fffffff - 65535)));
    await waitFor(() => held.held.length === 1);
    p.send(frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 65536]])));
    await p.expectGoaway(FLOW_CONTROL_ERROR);
    await held.close();
  });
  test('DATA over the stream window we announced is a FLOW_CONTROL_ERROR', async () => {
    const small = await startEchoServer({ streamWindow: 100 });
    const p = await RawPeer.connect(small.port);
    open.push(p);
    await p.handshake();
    p.send(p.headers(1, requestFields(), false), p.data(1, Buffer.alloc(101), true));
    await p.expectReset(1, FLOW_CONTROL_ERROR);
    await small.close();
  });
});

describe('§6.10 CONTINUATION', () => {
  test('HEADERS + several CONTINUATION frames are accepted', async () => {
    peer = await connected();
    const block = peer.encoder.encode(requestFields('/', 'POST', ['x-a', 'a'.repeat(50), 'x-b', 'b'.repeat(50)]), 0);
    const third = Math.ceil(block.length / 3);
    peer.send(
      frame(FrameType.HEADERS, 0x1, 1, block.subarray(0, third)),
      frame(FrameType.CONTINUATION, 0, 1, block.subarray(third, 2 * third)),
      frame(FrameType.CONTINUATION, 0x4, 1, block.subarray(2 * third)),
    );
    assert.equal((await peer.response(1)).status, '200');
    assert.ok(server.requests.some((r) => r.includes('a'.repeat(50))));
  });
  const bad: [string, (p: RawPeer) => Buffer[]][] = [
    ['followed by a frame other than CONTINUATION', (p) => [Object.assign(p.headers(1, requestFields(), true), { 4: 0x1 }), p.data(1, 'x', true)]],
    ['on stream 0', (p) => [Object.assign(p.headers(1, requestFields(), true), { 4: 0x1 }), frame(FrameType.CONTINUATION, 4, 0, Buffer.from([0x82]))]],
    ['after HEADERS with END_HEADERS', (p) => [p.headers(1, requestFields(), true), frame(FrameType.CONTINUATION, 4, 1, Buffer.from([0x82]))]],
    ['after DATA', (p) => [p.headers(1, requestFields(), false), p.data(1, 'x', false), frame(FrameType.CONTINUATION, 4, 1, Buffer.from([0x82]))]],
  ];
  for (const [name, frames] of bad) {
    test(`CONTINUATION ${name} is a PROTOCOL_ERROR`, async () => {
      peer = await connected();
      peer.send(...frames(peer));
      await peer.expectGoaway(PROTOCOL_ERROR);
    });
  }
});

describe('§7 error codes', () => {
  test('unknown error codes in GOAWAY and RST_STREAM trigger nothing special', async () => {
    peer = await connected();
    peer.send(peer.headers(1, requestFields(), false), frame(FrameType.RST_STREAM, 0, 1, u32(0xff)));
    await peer.expectAlive();
    peer.send(peer.headers(3, requestFields(), true));
    assert.equal((await peer.response(3)).status, '200');
    // The peer going away (whatever its code) lets us close once nothing is open — cleanly.
    peer.send(frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(0xff)])));
    await peer.waitClosed();
    assert.ok(!peer.frames.some((f) => f.type === FrameType.GOAWAY && f.payload.readUInt32BE(4) !== 0));
  });
});

function settingsValues(payload: Buffer): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i + 6 <= payload.length; i += 6) m.set(payload.readUInt16BE(i), payload.readUInt32BE(i + 2));
  return m;
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
