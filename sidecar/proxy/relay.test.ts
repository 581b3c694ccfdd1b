// The relay between two node streams: flow control, the request guard before any write, and
// stages between the ends.
import assert from 'node:assert/strict';
import { PassThrough, Transform, Writable } from 'node:stream';
import { test } from 'node:test';
import { RejectCode } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import { relay, relayThrough } from './relay.js';

const NO: Rejection = { code: RejectCode.MESSAGE_TOO_LARGE, reason: 'no' };
const turn = () => new Promise((r) => setImmediate(r));

function sink(highWaterMark = 16): { stream: Writable; got: Buffer[]; release: () => void } {
  const got: Buffer[] = [];
  let hold: (() => void) | undefined;
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _e, cb) {
      got.push(chunk);
      hold = cb; // the consumer is slow until released
    },
  });
  return { stream, got, release: () => hold?.() };
}

test('bytes move in order; a slow destination pauses the source (flow control), and the end is passed on', async () => {
  const src = new PassThrough();
  const dst = sink(1);
  relay(src, dst.stream);
  src.write('a');
  src.write('b');
  await turn();
  assert.equal(src.isPaused(), true, 'paused while the destination is full');
  dst.release();
  await turn();
  dst.release();
  src.end();
  await turn();
  assert.deepEqual(Buffer.concat(dst.got).toString(), 'ab');
  assert.equal(dst.stream.writableEnded, true);
});

test('the guard sees each chunk first: a refused chunk is never written, and nothing after it', async () => {
  const src = new PassThrough();
  const got: string[] = [];
  const dst = new Writable({ write: (c: Buffer, _e, cb) => (got.push(c.toString()), cb()) });
  const refused: Rejection[] = [];
  relay(src, dst, { check: (c) => (c.toString() === 'bad' ? NO : undefined) }, (r) => refused.push(r));
  for (const c of ['ok', 'bad', 'late']) src.write(c);
  await turn();
  assert.deepEqual(got, ['ok']);
  assert.deepEqual(refused, [NO]);
});

test('with stages the guard still sees the source; a failing stage ends the call once', async () => {
  const src = new PassThrough();
  const upper = new Transform({ transform: (c: Buffer, _e, cb) => cb(null, c.toString().toUpperCase()) });
  const got: string[] = [];
  const dst = new Writable({ write: (c: Buffer, _e, cb) => (got.push(c.toString()), cb()) });
  const seen: string[] = [];
  relayThrough(src, [upper], dst, { check: (c) => void seen.push(c.toString()) }, () => undefined, NO);
  src.write('abc');
  await turn();
  assert.deepEqual(seen, ['abc']);
  assert.deepEqual(got, ['ABC']);

  const failing = new Transform({ transform: (_c, _e, cb) => cb(new Error('broken')) });
  const ends: Rejection[] = [];
  const failed: Rejection = { code: RejectCode.INTERNAL, reason: 'transform_error' };
  relayThrough(new PassThrough().end('x'), [failing], new PassThrough(), undefined, (r) => ends.push(r), failed);
  await turn();
  assert.deepEqual(ends, [failed]);
});
