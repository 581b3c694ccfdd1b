// Bounded random-input tests with fixed seeds: random and mutated frames against a server
// connection over real sockets in random read splits (no crash, no exception, every
// request handed over is well formed, the server keeps serving), random bytes into the
// HPACK decoder, and the frame reader giving the same frames however the bytes are split.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FrameType, PREFACE, SettingId } from './constants.js';
import { FrameReader } from './frame-reader.js';
import { checkRequest, emptyRequestHead } from './header-rules.js';
import { DecodeResult, HpackDecoder } from './hpack/decoder.js';
import { HpackEncoder } from './hpack/encoder.js';
import net, { type AddressInfo } from 'node:net';
import { frame, RawPeer, requestFields, settingsPayload, u32 } from './test-support/raw-peer.js';
import { startRelayServer } from './test-support/relay-server.js';
import { startEchoServer, type EchoServer } from './test-support/echo-server.js';

/** mulberry32: a small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['content-type', 'te', 'x-a', 'X-Up', 'connection', ':path', ':method', ':status', ':foo', 'grpc-timeout', 'content-length', 'host', 'a b', ''];
const VALUES = ['application/grpc', 'trailers', 'v', '1', '10', ' lead', 'a\r\nb', 'x\u0000', '/p', 'POST', '', 'é'];

function randomFrame(r: () => number, enc: HpackEncoder, nextId: () => number): Buffer {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const sid = r() < 0.7 ? nextId() : Math.floor(r() * 12);
  const flags = r() < 0.8 ? pick([0, 1, 4, 5, 8, 0x20, 0x25]) : Math.floor(r() * 256);
  const kind = Math.floor(r() * 12);
  let f: Buffer;
  switch (kind) {
    case 0:
    case 1: {
      const fields = r() < 0.6 ? requestFields(r() < 0.5 ? '/pkg.S/M' : '/') : [];
      for (let i = Math.floor(r() * 4); i > 0; i--) fields.push(pick(NAMES), pick(VALUES));
      f = frame(FrameType.HEADERS, flags | 4, sid, enc.encode(fields, 0));
      break;
    }
    case 2:
    case 3:
      f = frame(FrameType.DATA, flags & 0x9, sid, Buffer.alloc(Math.floor(r() * 64), 0x61));
      break;
    case 4:
      f = frame(FrameType.SETTINGS, flags & 1, r() < 0.9 ? 0 : sid, settingsPayload([[pick([1, 2, 3, 4, 5, 6, 9]), Math.floor(r() * 2 ** 32)]]));
      break;
    case 5:
      f = frame(FrameType.WINDOW_UPDATE, 0, sid, u32(Math.floor(r() * 2 ** 31)));
      break;
    case 6:
      f = frame(FrameType.RST_STREAM, 0, sid, u32(Math.floor(r() * 16)));
      break;
    case 7:
      f = frame(FrameType.PING, flags & 1, r() < 0.9 ? 0 : sid, Buffer.alloc(8));
      break;
    case 8:
      f = frame(FrameType.PRIORITY, 0, sid, Buffer.concat([u32(Math.floor(r() * 8)), Buffer.from([16])]));
      break;
    case 9:
      f = frame(FrameType.CONTINUATION, flags, sid, Buffer.from([0x82]));
      break;
    case 10:
      f = frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(Math.floor(r() * 10)), u32(Math.floor(r() * 14))]));
      break;
    default: {
      const len = Math.floor(r() * 40);
      f = Buffer.alloc(9 + len);
      for (let i = 0; i < f.length; i++) f[i] = Math.floor(r() * 256);
      f.writeUIntBE(len, 0, 3);
    }
  }
  // Mutations: a flipped bit, or a wrong length field.
  if (r() < 0.1) f[Math.floor(r() * f.length)]! ^= 1 << Math.floor(r() * 8);
  if (r() < 0.05) f.writeUIntBE(Math.floor(r() * 64), 0, 3);
  return f;
}

describe('fuzz: random frames against a server connection', () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer({ maxConcurrentStreams: 10 });
  });
  after(async () => {
    await server.close();
  });

  test('600 connections of random frames: no crash, only well-formed requests delivered, still serving', async () => {
    const r = rng(0x5eed14);
    const errors: unknown[] = [];
    const onError = (e: unknown): void => void errors.push(e);
    process.on('uncaughtException', onError);
    try {
      for (let c = 0; c < 600; c++) {
        const peer = await RawPeer.connect(server.port);
        const enc = new HpackEncoder();
        let id = -1;
        const nextId = (): number => (id += r() < 0.9 ? 2 : -2);
        const frames: Buffer[] = [PREFACE, frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 100]]))];
        for (let i = Math.floor(r() * 30); i > 0; i--) frames.push(randomFrame(r, enc, () => Math.max(1, nextId())));
        const bytes = Buffer.concat(frames);
        // Random read splits.
        for (let pos = 0; pos < bytes.length; ) {
          const n = 1 + Math.floor(r() * 200);
          peer.socket.write(bytes.subarray(pos, pos + n));
          pos += n;
        }
        await new Promise((res) => setTimeout(res, r() < 0.2 ? 5 : 0));
        peer.close();
      }
      await new Promise((res) => setTimeout(res, 50));
    } finally {
      process.off('uncaughtException', onError);
    }
    assert.deepEqual(errors, []);
    for (const req of server.requests) assert.equal(checkRequest(req, emptyRequestHead()), undefined, JSON.stringify(req));
    assert.ok(server.requests.length > 0, 'some requests were well formed');
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.send(peer.headers(1, requestFields(), true));
    assert.equal((await peer.response(1)).status, '200');
    peer.close();
  });
});

/** An independent look at a request as the app received it (RFC 9113 §8.2, §8.3), written for this test. */
function wellFormed(fields: string[]): string | undefined {
  const pseudo = new Set<string>();
  let regular = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.startsWith(':')) {
      if (regular || pseudo.has(name) || ![':method', ':scheme', ':path', ':authority'].includes(name)) return `pseudo ${name}`;
      pseudo.add(name);
    } else {
      regular = true;
      if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return `name ${JSON.stringify(name)}`;
      if (['connection', 'transfer-encoding', 'upgrade', 'keep-alive', 'proxy-connection'].includes(name)) return name;
      if (name === 'te' && value !== 'trailers') return 'te';
    }
    if (/[\r\n\0]/.test(value)) return `value of ${name}`;
  }
  return pseudo.has(':method') && pseudo.has(':scheme') && pseudo.has(':path') ? undefined : 'missing pseudo-header';
}

describe('fuzz: random frames through the relay to a raw app', () => {
  test('400 connections: every request the app receives is well formed; the relay keeps relaying', async () => {
    // The app: a raw peer that records the header blocks the relay sends it.
    const appPeers: RawPeer[] = [];
    const appServer = net.createServer((socket) => {
      const p = RawPeer.accept(socket);
      appPeers.push(p);
      p.send(frame(FrameType.SETTINGS, 0, 0), frame(FrameType.SETTINGS, 1, 0));
    });
    await new Promise<void>((r) => appServer.listen(0, '127.0.0.1', r));
    const relay = await startRelayServer((appServer.address() as AddressInfo).port, { maxConcurrentStreams: 10 });
    const r = rng(0xa99);
    const errors: unknown[] = [];
    const onError = (e: unknown): void => void errors.push(e);
    process.on('uncaughtException', onError);
    try {
      for (let c = 0; c < 400; c++) {
        const peer = await RawPeer.connect(relay.port);
        const enc = new HpackEncoder();
        let id = -1;
        const frames: Buffer[] = [PREFACE, frame(FrameType.SETTINGS, 0, 0)];
        for (let i = Math.floor(r() * 20); i > 0; i--) frames.push(randomFrame(r, enc, () => Math.max(1, (id += 2))));
        peer.send(...frames);
        await new Promise((res) => setTimeout(res, r() < 0.2 ? 5 : 0));
        peer.close();
      }
      await new Promise((res) => setTimeout(res, 200));
    } finally {
      process.off('uncaughtException', onError);
    }
    assert.deepEqual(errors, []);
    let requests = 0;
    for (const p of appPeers) {
      const seen = new Set<number>();
      for (const f of p.frames.filter((x) => x.type === FrameType.HEADERS)) {
        const fields = p.decode(f);
        if (seen.has(f.streamId)) {
          // Trailers: regular fields only.
          assert.ok(fields.every((v, i) => i % 2 === 1 || !v.startsWith(':')), JSON.stringify(fields));
          continue;
        }
        seen.add(f.streamId);
        requests++;
        assert.equal(wellFormed(fields), undefined, JSON.stringify(fields));
      }
    }
    assert.ok(requests > 0, 'some requests were relayed');
    for (const p of appPeers) p.close();
    await relay.close();
    appServer.close();
  });
});

describe('fuzz: HPACK decoder', () => {
  test('50,000 random and mutated blocks: a result code, never an exception', () => {
    const r = rng(7541);
    const enc = new HpackEncoder();
    const counts = [0, 0, 0];
    for (let i = 0; i < 50_000; i++) {
      const dec = new HpackDecoder(4096, 16384, 64);
      let block: Buffer;
      if (i % 2 === 0) {
        block = Buffer.alloc(Math.floor(r() * 64));
        for (let j = 0; j < block.length; j++) block[j] = Math.floor(r() * 256);
      } else {
        block = enc.encode(requestFields('/x', 'POST', ['x-k', 'v'.repeat(Math.floor(r() * 40))]), 0);
        for (let k = 0; k < 3; k++) block[Math.floor(r() * block.length)]! ^= 1 << Math.floor(r() * 8);
      }
      const out: string[] = [];
      const res = dec.decode(block, 0, block.length, out);
      counts[res]!++;
      assert.ok(res === DecodeResult.OK || res === DecodeResult.TOO_LARGE || res === DecodeResult.COMPRESSION_ERROR);
      assert.equal(out.length % 2, 0);
    }
    assert.ok(counts[DecodeResult.OK]! > 0 && counts[DecodeResult.COMPRESSION_ERROR]! > 0, String(counts));
  });
});

describe('fuzz: frame reader', () => {
  test('the same frames whatever the read splits', () => {
    const r = rng(9113);
    const enc = new HpackEncoder();
    let id = -1;
    const frames = Array.from({ length: 300 }, () => randomFrame(r, enc, () => (id += 2)).subarray(0)).map((f) => {
      f.writeUIntBE(f.length - 9, 0, 3); // valid lengths: this test is about splitting
      return f;
    });
    const bytes = Buffer.concat(frames);
    const collect = (split: () => number): string[] => {
      const seen: string[] = [];
      const reader = new FrameReader(
        {
          onFrame: (buf, off, type, flags, sid, length) => {
            seen.push(`${type}/${flags}/${sid}/${buf.subarray(off + 9, off + 9 + length).toString('hex')}`);
            return true;
          },
          onReadError: (reason) => assert.fail(reason),
        },
        1 << 20,
        false,
      );
      for (let pos = 0; pos < bytes.length; ) {
        const n = split();
        reader.push(bytes.subarray(pos, pos + n));
        pos += n;
      }
      return seen;
    };
    const whole = collect(() => bytes.length);
    assert.equal(whole.length, 300);
    assert.deepEqual(collect(() => 1), whole);
    for (let k = 0; k < 20; k++) assert.deepEqual(collect(() => 1 + Math.floor(r() * 100)), whole);
  });
});
