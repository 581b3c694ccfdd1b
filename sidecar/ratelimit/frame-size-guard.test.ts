import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RejectCode } from '../core/codes.js';
import { FrameSizeGuard } from './frame-size-guard.js';
import { messageTooLargeRejection } from './limit-rejections.js';

const tooLarge = messageTooLargeRejection(100, 'r');

function frame(len: number): Buffer {
  const b = Buffer.alloc(5 + len, 0x61);
  b[0] = 0;
  b.writeUInt32BE(len, 1);
  return b;
}

/** Feeds `bytes` in pieces of the given sizes; returns the index of the piece refused, or -1. */
function feed(guard: FrameSizeGuard, bytes: Buffer, sizes: number[]): number {
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const n = sizes[i % sizes.length]!;
    if (guard.check(bytes.subarray(off, off + n)) !== undefined) return i;
    off += n;
    i++;
  }
  return -1;
}

test('messages up to the limit pass, in any split', () => {
  const body = Buffer.concat([frame(100), frame(0), frame(7), frame(100)]);
  for (const sizes of [[body.length], [1], [2], [3], [5], [6], [7, 1, 3], [104, 1]]) {
    assert.equal(feed(new FrameSizeGuard(100, tooLarge), body, sizes), -1, `split ${sizes}`);
  }
});

test('a message over the limit is refused at the chunk holding its length, before its body', () => {
  const body = Buffer.concat([frame(10), frame(101)]);
  const g = new FrameSizeGuard(100, tooLarge);
  assert.equal(g.check(body.subarray(0, 15)), undefined, 'the first message is fine');
  const r = g.check(body.subarray(15, 20)); // just the prefix of the second
  assert.equal(r?.code, RejectCode.MESSAGE_TOO_LARGE);
  assert.equal(r, tooLarge);
});

test('a prefix split across chunks is still read (byte by byte)', () => {
  const body = Buffer.concat([frame(3), frame(5000)]);
  // Chunks of 1 byte: the refusal comes with the 5th byte of the second prefix (index 8 + 4 = 12).
  assert.equal(feed(new FrameSizeGuard(100, tooLarge), body, [1]), 12);
  assert.equal(feed(new FrameSizeGuard(100, tooLarge), body, [9, 2]), 2);
});

test('the 4 MiB default and large lengths: no overflow, no copy needed', () => {
  const g = new FrameSizeGuard(4 * 1024 * 1024, tooLarge);
  const prefix = Buffer.from([0, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(g.check(prefix), tooLarge);
  const ok = new FrameSizeGuard(4 * 1024 * 1024, tooLarge);
  const head = Buffer.from([0, 0, 0x40, 0, 0]); // exactly 4 MiB
  assert.equal(ok.check(head), undefined);
  assert.equal(ok.check(Buffer.alloc(4 * 1024 * 1024)), undefined);
  assert.equal(ok.check(frame(1)), undefined, 'the next message starts right after');
});
