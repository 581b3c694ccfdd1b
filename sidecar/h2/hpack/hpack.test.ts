// HPACK against RFC 7541 Appendix C (integers, literals, request and response sequences with
// and without Huffman coding), the decoding errors h2spec's hpack cases look for, and
// encoder/decoder round trips.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DecodeResult, HpackDecoder } from './decoder.js';
import { HpackEncoder } from './encoder.js';
import { huffmanDecode, huffmanEncode, huffmanLength } from './huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const pairs = (list: [string, string][]): string[] => list.flat();

function decodeAll(decoder: HpackDecoder, block: Buffer): string[] {
  const out: string[] = [];
  const r = decoder.decode(block, 0, block.length, out);
  assert.equal(r, DecodeResult.OK, decoder.error);
  return out;
}

describe('RFC 7541 C.1 integers', () => {
  test('10 with a 5-bit prefix, 1337 with a 5-bit prefix, 42 at an octet boundary', () => {
    // Through a literal's name index (4-bit prefix would differ): use the table size update (5-bit).
    const d = new HpackDecoder(4096, 65536, 1000);
    assert.equal(d.decode(hex('2a'), 0, 1, []), DecodeResult.OK); // size update 10
    assert.equal(d.decode(hex('3f9a0a'), 0, 3, []), DecodeResult.OK); // 1337
    const enc = new HpackEncoder(4096);
    enc.setPeerTableSize(1337);
    assert.deepEqual(enc.encode([], 0), hex('3f9a0a'));
  });
});

describe('RFC 7541 C.2 header field representations', () => {
  test('C.2.1 literal with indexing', () => {
    const d = new HpackDecoder(4096, 65536, 1000);
    assert.deepEqual(decodeAll(d, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')), ['custom-key', 'custom-header']);
    assert.equal(d.tableSize, 55);
  });
  test('C.2.2 literal without indexing', () => {
    const d = new HpackDecoder(4096, 65536, 1000);
    assert.deepEqual(decodeAll(d, hex('040c 2f73 616d 706c 652f 7061 7468')), [':path', '/sample/path']);
    assert.equal(d.tableSize, 0);
  });
  test('C.2.3 literal never indexed', () => {
    const d = new HpackDecoder(4096, 65536, 1000);
    assert.deepEqual(decodeAll(d, hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), ['password', 'secret']);
    assert.equal(d.tableSize, 0);
  });
  test('C.2.4 indexed field', () => {
    const d = new HpackDecoder(4096, 65536, 1000);
    assert.deepEqual(decodeAll(d, hex('82')), [':method', 'GET']);
  });
});

const requests: [string, string][][] = [
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
  [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
];
const requestSizes = [57, 110, 164];

const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const responses: [string, string][][] = [
  [[':status', '302'], ['cache-control', 'private'], ['date', date1], ['location', 'https://www.example.com']],
  [[':status', '307'], ['cache-control', 'private'], ['date', date1], ['location', 'https://www.example.com']],
  [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ['location', 'https://www.example.com'],
    ['content-encoding', 'gzip'],
    ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
  ],
];
const responseSizes = [222, 222, 215];

function sequence(name: string, tableSize: number, blocks: string[], expected: [string, string][][], sizes: number[]): void {
  test(name, () => {
    const d = new HpackDecoder(tableSize, 65536, 1000);
    // The peer's encoder starts at 4096; a table of 256 was agreed through SETTINGS.
    blocks.forEach((b, i) => {
      assert.deepEqual(decodeAll(d, hex(b)), pairs(expected[i]!), `block ${i + 1}`);
      assert.equal(d.tableSize, sizes[i], `table size after block ${i + 1}`);
    });
  });
}

describe('RFC 7541 C.3–C.6 sequences', () => {
  sequence(
    'C.3 requests without Huffman',
    4096,
    [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ],
    requests,
    requestSizes,
  );
  sequence(
    'C.4 requests with Huffman',
    4096,
    ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'],
    requests,
    requestSizes,
  );
  const c5 = [
    '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '4803 3330 37c1 c0bf',
    '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
  ];
  const c6 = [
    '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
    '4883 640e ffc1 c0bf',
    '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ];
  // C.5/C.6 use a 256-octet table: the encoder's first block starts with no size update,
  // because the decoder here was set up at that size (our SETTINGS), as the RFC assumes.
  sequence('C.5 responses without Huffman (table 256)', 256, c5, responses, responseSizes);
  sequence('C.6 responses with Huffman (table 256)', 256, c6, responses, responseSizes);
});

describe('Huffman', () => {
  test('encodes as in C.4 and C.6', () => {
    const enc = (s: string): string => {
      const out = Buffer.alloc(huffmanLength(s));
      assert.equal(huffmanEncode(s, out, 0), out.length);
      return out.toString('hex');
    };
    assert.equal(enc('www.example.com'), 'f1e3c2e5f23a6ba0ab90f4ff');
    assert.equal(enc('no-cache'), 'a8eb10649cbf');
    assert.equal(enc('custom-key'), '25a849e95ba97d7f');
    assert.equal(enc('302'), '6402');
    assert.equal(enc('https://www.example.com'), '9d29ad171863c78f0b97c8e9ae82ae43d3');
  });
  test('every octet value round-trips', () => {
    let s = '';
    for (let i = 0; i < 256; i++) s += String.fromCharCode(i);
    const out = Buffer.alloc(huffmanLength(s));
    huffmanEncode(s, out, 0);
    assert.equal(huffmanDecode(out, 0, out.length), s);
  });
  test('random strings of any octets round-trip', () => {
    let seed = 42;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let n = 0; n < 2000; n++) {
      let s = '';
      for (let i = Math.floor(next() * 40); i > 0; i--) s += String.fromCharCode(Math.floor(next() * 256));
      const out = Buffer.alloc(huffmanLength(s));
      assert.equal(huffmanEncode(s, out, 0), out.length);
      assert.equal(huffmanDecode(out, 0, out.length), s);
    }
  });
  test('padding longer than 7 bits, padding with zeros and EOS inside a string are errors (§5.2)', () => {
    assert.equal(huffmanDecode(hex('f1e3c2e5f23a6ba0ab90f4ffff'), 0, 13), undefined); // 8 extra one-bits
    assert.equal(huffmanDecode(hex('00'), 0, 1), undefined); // '0' + three zero bits of padding
    assert.equal(huffmanDecode(hex('ffffffff'), 0, 4), undefined); // EOS (30 ones) then padding
  });
});

describe('decoding errors (COMPRESSION_ERROR)', () => {
  const bad = (block: string, tableSize = 4096): void => {
    const d = new HpackDecoder(tableSize, 65536, 1000);
    const b = hex(block);
    assert.equal(d.decode(b, 0, b.length, []), DecodeResult.COMPRESSION_ERROR, block);
  };
  test('index 0', () => bad('80'));
  test('indexed field beyond both tables', () => bad('be'));
  test('literal with a name index beyond both tables', () => bad('7f0a 0161'));
  test('size update after a field', () => bad('82 20'));
  test('size update above our SETTINGS_HEADER_TABLE_SIZE', () => bad('3fe21f')); // 4097
  test('truncated integer', () => bad('ff'));
  test('integer too large', () => bad('ffffffffffff7f'));
  test('truncated string', () => bad('0005 6162'));
  test('bad Huffman string', () => bad('0081 ff'));
});

describe('bounds', () => {
  test('a list over the size limit decodes (table in step) but reports TOO_LARGE', () => {
    const d = new HpackDecoder(4096, 100, 1000);
    const enc = new HpackEncoder(4096);
    const block = enc.encode(['x-a', 'a'.repeat(60), 'x-b', 'b'.repeat(10)], 0);
    const out: string[] = [];
    assert.equal(d.decode(block, 0, block.length, out), DecodeResult.TOO_LARGE);
    assert.deepEqual(out, []);
    // The next block refers to entries added by the oversize one: still decodes.
    const next = enc.encode(['x-b', 'b'.repeat(10)], 0);
    assert.deepEqual(decodeAll(d, next), ['x-b', 'b'.repeat(10)]);
  });
  test('field count', () => {
    const d = new HpackDecoder(4096, 65536, 3);
    const block = new HpackEncoder().encode(['a', '1', 'b', '2', 'c', '3', 'd', '4'], 0);
    assert.equal(d.decode(block, 0, block.length, []), DecodeResult.TOO_LARGE);
  });
});

describe('encoder', () => {
  test('round trip across blocks, with indexing, never-indexed secrets and a peer table size change', () => {
    const enc = new HpackEncoder(4096);
    const dec = new HpackDecoder(4096, 65536, 1000);
    const call = (i: number): string[] => [
      ':method', 'POST', ':scheme', 'http', ':path', '/pkg.Svc/Method', ':authority', 'app:50051',
      'content-type', 'application/grpc', 'te', 'trailers', 'grpc-timeout', `${i}m`,
      'authorization', `Bearer token-${i}`, 'user-agent', 'grpc-node-js/1.14.7', 'x-bin', 'é\u00ff\u0000',
    ];
    let firstSize = 0;
    for (let i = 0; i < 50; i++) {
      if (i === 25) enc.setPeerTableSize(64);
      const block = enc.encode(call(i), 9);
      assert.deepEqual(block.subarray(0, 9).length, 9);
      assert.deepEqual(decodeAll(dec, block.subarray(9)), call(i));
      if (i === 0) firstSize = block.length;
      if (i === 1) assert.ok(block.length < firstSize / 2, `repeated fields are indexed: ${block.length} vs ${firstSize}`);
    }
    // authorization never enters the table
    const probe = enc.encode(['authorization', 'Bearer token-1'], 0);
    assert.equal(probe[0]! & 0xf0, 0x10);
  });
  test('a peer table size of 0 empties the table and is announced', () => {
    const enc = new HpackEncoder(4096);
    const dec = new HpackDecoder(4096, 65536, 1000);
    decodeAll(dec, enc.encode(['x-k', 'v'], 0));
    enc.setPeerTableSize(0);
    const b = enc.encode(['x-k', 'v'], 0);
    assert.equal(b[0], 0x20);
    assert.deepEqual(decodeAll(dec, b), ['x-k', 'v']);
    assert.equal(dec.tableSize, 0);
  });
});
