// The forwarder's message-guard adapter over plain streams: released messages wait until the
// app's side is attached, a refusal stops everything, and the app's flow control pauses the caller.
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import type { MessageGuard, Rejection } from '../core/filter.js';
import { GuardedRequest } from './guarded-request.js';

const BAD: Rejection = { code: 'INVALID_MESSAGE', reason: 'invalid_message' };

/** A stand-in guard: each chunk is one message; "bad" is refused. */
function guard(): MessageGuard & { seen: string[] } {
  let passed = 0;
  const seen: string[] = [];
  return {
    holdFirst: true,
    seen,
    get passed() {
      return passed;
    },
    push(chunk, release) {
      seen.push(chunk.toString());
      if (chunk.toString() === 'bad') return BAD;
      passed++;
      release(chunk);
      return undefined;
    },
    end: () => undefined,
  };
}

function sink(highWaterMark = 1024, delayMs = 0): Writable & { got: string[]; ended: boolean } {
  const w = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      w.got.push(chunk.toString());
      if (delayMs === 0) setImmediate(cb);
      else setTimeout(cb, delayMs);
    },
    final(cb) {
      w.ended = true;
      cb();
    },
  }) as Writable & { got: string[]; ended: boolean };
  w.got = [];
  w.ended = false;
  return w;
}

const tick = () => new Promise((r) => setImmediate(r));

test('the first passed message opens the forward; pending messages go first, then the rest, then the end', async () => {
  const src = new PassThrough();
  const req = new GuardedRequest(src, guard());
  const dst = sink();
  let opened = 0;
  req.onFirst = () => {
    opened++;
    req.attach(dst);
  };
  src.write('one');
  await tick();
  assert.equal(opened, 1);
  src.write('two');
  src.end();
  await new Promise((r) => dst.once('finish', r));
  assert.deepEqual(dst.got, ['one', 'two']);
  assert.equal(opened, 1);
});

test('a refusal before the forward opened: nothing is written, nothing more is checked', async () => {
  const src = new PassThrough();
  const g = guard();
  const req = new GuardedRequest(src, g);
  const refused: Rejection[] = [];
  req.onFirst = () => assert.fail('must not open');
  req.onRefuse = (r) => refused.push(r);
  src.write('bad');
  src.write('later');
  src.end();
  await tick();
  assert.deepEqual(refused, [BAD]);
  assert.deepEqual(g.seen, ['bad']);
});

test('a request without messages still opens the forward and ends it', async () => {
  const src = new PassThrough();
  const req = new GuardedRequest(src, guard());
  const dst = sink();
  req.onFirst = () => req.attach(dst);
  src.end();
  await new Promise((r) => dst.once('finish', r));
  assert.deepEqual(dst.got, []);
});

test("the app's flow control pauses the caller until it drains", async () => {
  const src = new PassThrough();
  const req = new GuardedRequest(src, guard());
  const dst = sink(1, 50);
  req.attach(dst);
  const drained = new Promise((r) => dst.once('drain', r));
  src.write('a');
  await tick();
  assert.equal(src.isPaused(), true);
  await drained;
  await tick();
  assert.equal(src.isPaused(), false);
});
