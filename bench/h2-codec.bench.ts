// The own HTTP/2 codec's per-call pieces (sidecar/h2/): HPACK decoding and encoding of a
// gRPC request's header block (first block: literals; later blocks: dynamic-table hits),
// Node's own HPACK path for comparison (a node:http2 round trip cannot be isolated, so the
// baseline is the JSON of the same headers, a cost every proxy pays in some form), the
// request checks of RFC 9113 §8.3, and frame parsing. Best of 5 rounds, ns per operation.
// Run: node --import tsx bench/h2-codec.bench.ts [iterations]

import { FrameReader } from '../sidecar/h2/frame-reader.js';
import { checkRequest, emptyRequestHead } from '../sidecar/h2/header-rules.js';
import { HpackDecoder } from '../sidecar/h2/hpack/decoder.js';
import { HpackEncoder } from '../sidecar/h2/hpack/encoder.js';
import { dataFrame, headersFrames } from '../sidecar/h2/frame-writer.js';

const ITERATIONS = Number(process.argv[2] ?? 500_000);

const request = [
  ':method', 'POST', ':scheme', 'https', ':path', '/bench.v1.Bench/Unary', ':authority', '127.0.0.1:7443',
  'content-type', 'application/grpc', 'user-agent', 'grpc-node-js/1.14.7', 'te', 'trailers',
  'grpc-accept-encoding', 'identity,deflate,gzip', 'accept-encoding', 'identity', 'grpc-timeout', '9999m',
  'traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
];

function time(name: string, fn: () => void): void {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / ITERATIONS);
  }
  process.stdout.write(`${name.padEnd(58)} ${best.toFixed(0).padStart(6)} ns\n`);
}

// Each call has its own deadline and trace id, as real calls do.
const calls = Array.from({ length: 1024 }, (_, i) => {
  const r = [...request];
  r[r.indexOf('grpc-timeout') + 1] = `${9000 + i}m`;
  r[r.indexOf('traceparent') + 1] = `00-0af7651916cd43dd8448eb211c8${String(i).padStart(4, '0')}-b7ad6b7169203331-01`;
  return r;
});
const enc = new HpackEncoder();
const firstBlock = new HpackEncoder().encode(calls[0]!, 0);
const blocks = calls.map((c) => enc.encode(c, 0));
process.stdout.write(`header block: ${request.length / 2} fields, ${firstBlock.length} octets first, ${blocks[1]!.length} octets once indexed\n\n`);

const out: string[] = [];
time('HPACK decode, first block (literals, Huffman)', () => {
  new HpackDecoder(4096, 16384, 64).decode(firstBlock, 0, firstBlock.length, out);
});
const warm = new HpackDecoder(4096, 16384, 64);
for (const b of blocks) warm.decode(b, 0, b.length, out);
let k = 0;
time('HPACK decode, later block (dynamic table hits)', () => {
  const b = blocks[1 + (k++ & 511)]!;
  warm.decode(b, 0, b.length, out);
});
let j = 0;
time('HPACK encode (steady state, into a new buffer)', () => {
  enc.encode(calls[j++ & 1023]!, 9);
});
time('baseline: JSON.stringify of the same fields', () => {
  JSON.stringify(request);
});
const head = emptyRequestHead();
time('request checks (RFC 9113 §8.3)', () => {
  checkRequest(request, head);
});
const frames = Buffer.concat([headersFrames(1, enc.encode(request, 9), false, 16384), dataFrame(1, Buffer.alloc(35), 0, 35, true)]);
const reader = new FrameReader({ onFrame: () => true, onReadError: () => {} }, 16384, false);
time('frame parsing: HEADERS + DATA of one call', () => {
  reader.push(frames);
});
