// Server-side conformance with RFC 9113 §8 (HTTP semantics: malformed requests are stream
// errors of type PROTOCOL_ERROR and never reach the handler), h2spec's hpack cases through
// a real connection, and its generic cases (GET, HEAD, POST, POST with trailers).

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { ErrorCode, FrameType, SettingId } from './constants.js';
import { frame, RawPeer, requestFields, u32 } from './test-support/raw-peer.js';
import { startEchoServer, type EchoServer } from './test-support/echo-server.js';

let server: EchoServer;
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

async function connected(): Promise<RawPeer> {
  const p = await RawPeer.connect(server.port);
  open.push(p);
  await p.handshake();
  return p;
}

const base = [':method', 'POST', ':scheme', 'https', ':path', '/pkg.Svc/M', ':authority', 'svc'];

describe('§8.1.1 / §8.2 / §8.3 malformed requests are refused and never delivered', () => {
  const malformed: [string, string[]][] = [
    ['an uppercase field name', [...base, 'X-Upper', 'v']],
    ['an unknown pseudo-header', [...base, ':foo', 'v']],
    ['a response pseudo-header', [...base, ':status', '200']],
    ['a pseudo-header after a regular field', [':method', 'POST', ':scheme', 'https', 'x-a', 'b', ':path', '/p', ':authority', 'svc']],
    ['a connection-specific field', [...base, 'connection', 'keep-alive']],
    ['transfer-encoding', [...base, 'transfer-encoding', 'chunked']],
    ['te other than "trailers"', [...base, 'te', 'trailers, deflate']],
    ['an empty :path', [':method', 'POST', ':scheme', 'https', ':path', '', ':authority', 'svc']],
    ['no :method', [':scheme', 'https', ':path', '/p', ':authority', 'svc']],
    ['no :scheme', [':method', 'POST', ':path', '/p', ':authority', 'svc']],
    ['no :path', [':method', 'POST', ':scheme', 'https', ':authority', 'svc']],
    ['a duplicate :method', [...base, ':method', 'GET']],
    ['a duplicate :scheme', [':method', 'POST', ':scheme', 'https', ':scheme', 'http', ':path', '/p']],
    ['a duplicate :path', [':method', 'POST', ':scheme', 'https', ':path', '/a', ':path', '/b']],
    ['a value with CR LF', [...base, 'x-a', 'b\r\nx-evil: 1']],
    ['a value with NUL', [...base, 'x-a', 'b\u0000c']],
    ['a value with leading whitespace', [...base, 'x-a', ' b']],
    ['a field name with a space', [...base, 'x a', 'b']],
    ['host differing from :authority', [...base, 'host', 'other']],
    ['a non-numeric content-length', [...base, 'content-length', '1a']],
  ];
  for (const [name, fields] of malformed) {
    test(name, async () => {
      const before = server.requests.length;
      const p = await connected();
      p.send(p.headers(1, fields, true));
      await p.expectReset(1, ErrorCode.PROTOCOL_ERROR);
      await p.expectAlive();
      assert.equal(server.requests.length, before, 'the handler saw nothing');
    });
  }
  test('content-length not matching the DATA (one frame, several frames) is a PROTOCOL_ERROR', async () => {
    for (const parts of [['hello'], ['he', 'll', 'o!']]) {
      const p = await connected();
      p.send(p.headers(1, [...base, 'content-length', '4'], false));
      parts.forEach((part, i) => p.send(p.data(1, part, i === parts.length - 1)));
      await p.expectReset(1, ErrorCode.PROTOCOL_ERROR);
    }
  });
  test('a matching content-length is fine', async () => {
    const p = await connected();
    p.send(p.headers(1, [...base, 'content-length', '5'], false), p.data(1, 'he', false), p.data(1, 'llo', true));
    assert.equal((await p.response(1)).body, 'echo:hello');
  });
  test('trailers with a pseudo-header are a PROTOCOL_ERROR', async () => {
    const p = await connected();
    p.send(p.headers(1, base, false), p.data(1, 'x', false), p.headers(1, [':path', '/x'], true));
    await p.expectReset(1, ErrorCode.PROTOCOL_ERROR);
  });
  test('a second HEADERS without END_STREAM is a PROTOCOL_ERROR (§8.1)', async () => {
    const p = await connected();
    p.send(p.headers(1, base, false), p.headers(1, ['x-t', '1'], false));
    await p.expectReset(1, ErrorCode.PROTOCOL_ERROR);
  });
  test('PUSH_PROMISE from a client is a PROTOCOL_ERROR (§8.4)', async () => {
    const p = await connected();
    p.send(frame(FrameType.PUSH_PROMISE, 4, 1, Buffer.concat([u32(2), Buffer.from([0x82])])));
    await p.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
  test('a well-formed request with te: trailers, host equal to :authority and lowercase names is delivered', async () => {
    const before = server.requests.length;
    const p = await connected();
    p.send(p.headers(1, [...base, 'te', 'trailers', 'host', 'svc', 'content-type', 'application/grpc'], true));
    assert.equal((await p.response(1)).status, '200');
    assert.equal(server.requests.length, before + 1);
  });
});

describe('HPACK through a connection (h2spec hpack/ and generic/5)', () => {
  const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
  // :method POST (0x83), :scheme http (0x86), :path / (0x84), :authority literal "a".
  const head = '83 86 84 01 01 61';
  const accepted: [string, string][] = [
    ['indexed field', ''],
    ['literal with incremental indexing, indexed name', '7a 01 76'], // user-agent (58): v
    ['literal with incremental indexing, indexed name, Huffman', '7a 81 ef'], // "v" = 1110111 + 1
    ['literal with incremental indexing, new name', '40 03 78 2d 61 01 62'],
    ['literal with incremental indexing, new name, Huffman', '40 83 f2 b0 ff 81 8f'], // "x-a": "b"
    ['literal without indexing, indexed name', '0f 2b 01 76'],
    ['literal without indexing, new name', '00 03 78 2d 61 01 62'],
    ['literal never indexed, indexed name', '1f 2b 01 76'],
    ['literal never indexed, new name', '10 03 78 2d 61 01 62'],
    ['a dynamic table size update', '3f e1 1f'],
    ['several dynamic table size updates', '20 3f e1 1f'],
  ];
  for (const [name, extra] of accepted) {
    test(`accepts ${name}`, async () => {
      // Size updates go first in a block (§4.2); fields follow.
      const block = name.includes('size update') ? hex(`${extra} ${head}`) : hex(`${head} ${extra}`);
      const p = await connected();
      p.send(frame(FrameType.HEADERS, 0x5, 1, block));
      const r = await p.response(1).catch(async (e: Error) => {
        throw new Error(`${name}: ${e.message}`);
      });
      assert.equal(r.status, '200');
    });
  }
  const refused: [string, string][] = [
    ['an indexed field with index 0', `${head} 80`],
    ['an indexed field beyond the tables', `${head} ff 00`],
    ['a literal with a name index beyond the tables', `${head} 7f 00 01 61`],
    ['a table size update at the end of the block', `${head} 20`],
    ['a table size update over SETTINGS_HEADER_TABLE_SIZE', `3f e2 1f ${head}`],
    ['Huffman padding longer than 7 bits', `${head} 00 01 61 82 ff ff`],
    ['Huffman padding with zeros', `${head} 00 01 61 81 00`],
    ['Huffman with the EOS symbol', `${head} 00 01 61 84 ff ff ff ff`],
  ];
  for (const [name, block] of refused) {
    test(`${name} is a COMPRESSION_ERROR`, async () => {
      const p = await connected();
      p.send(frame(FrameType.HEADERS, 0x5, 1, hex(block)));
      await p.expectGoaway(ErrorCode.COMPRESSION_ERROR);
    });
  }
  test('a SETTINGS_HEADER_TABLE_SIZE of 0 from the peer: our responses carry a size update and no indexing', async () => {
    const p = await RawPeer.connect(server.port);
    open.push(p);
    await p.handshake([[SettingId.HEADER_TABLE_SIZE, 0]]);
    for (const id of [1, 3]) {
      p.send(p.headers(id, requestFields(), true));
      const r = await p.response(id);
      assert.equal(r.status, '200');
    }
    const firstResponse = p.frames.find((f) => f.type === FrameType.HEADERS)!;
    assert.equal(firstResponse.payload[0], 0x20, 'size update to 0 first');
    assert.equal(p.decoder.tableSize, 0);
  });
});

describe('generic exchanges (h2spec generic/4)', () => {
  test('GET, HEAD, POST, and POST with trailers', async () => {
    const p = await connected();
    p.send(p.headers(1, requestFields('/', 'GET'), true));
    p.send(p.headers(3, requestFields('/', 'HEAD'), true));
    p.send(p.headers(5, requestFields('/'), false), p.data(5, 'body', true));
    p.send(p.headers(7, requestFields('/'), false), p.data(7, 'body', false), p.headers(7, ['x-trailer', 'yes'], true));
    for (const id of [1, 3, 5, 7]) assert.equal((await p.response(id)).status, '200', `stream ${id}`);
    assert.equal((await p.response(7)).body, 'echo:body');
    assert.deepEqual((await p.response(7)).trailers, ['grpc-status', '0']);
  });
  test('SETTINGS with every known value is acknowledged and applied', async () => {
    const p = await RawPeer.connect(server.port);
    open.push(p);
    await p.handshake([
      [SettingId.HEADER_TABLE_SIZE, 8192],
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.MAX_CONCURRENT_STREAMS, 10],
      [SettingId.INITIAL_WINDOW_SIZE, 100_000],
      [SettingId.MAX_FRAME_SIZE, 32_768],
      [SettingId.MAX_HEADER_LIST_SIZE, 100_000],
    ]);
    p.send(p.headers(1, requestFields(), false), p.data(1, Buffer.alloc(10_000, 0x62), false), p.data(1, Buffer.alloc(10_000, 0x62), true));
    const r = await p.response(1);
    assert.equal(r.body.length, 20_005);
    // The peer allowed frames of 32 KiB: the reply came in one DATA frame.
    assert.equal(p.frames.filter((f) => f.type === FrameType.DATA && f.streamId === 1).length, 1);
  });
});

