import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcMessageFramer, isCompressed, messagePayload } from './message-framer.js';

function frame(payload: string, compressed = false): Buffer {
  const b = Buffer.alloc(5 + payload.length);
  b[0] = compressed ? 1 : 0;
  b.writeUInt32BE(payload.length, 1);
  b.write(payload, 5);
  return b;
}

test('messages come out whole and as sent, whatever the chunking', () => {
  const body = Buffer.concat([frame('one'), frame(''), frame('three', true), frame('x'.repeat(300))]);
  for (const size of [1, 2, 4, 5, 6, 7, 64, body.length]) {
    const framer = new GrpcMessageFramer();
    const out: Buffer[] = [];
    for (let i = 0; i < body.length; i += size) {
      framer.push(body.subarray(i, i + size));
      for (let m = framer.next(); m !== undefined; m = framer.next()) out.push(m);
    }
    assert.deepEqual(Buffer.concat(out), body, `chunks of ${size}`);
    assert.deepEqual(out.map((m) => messagePayload(m).toString()), ['one', '', 'three', 'x'.repeat(300)], `chunks of ${size}`);
    assert.deepEqual(out.map(isCompressed), [false, false, true, false]);
    assert.equal(framer.buffered, 0);
  }
});

test('an incomplete message stays buffered', () => {
  const framer = new GrpcMessageFramer();
  framer.push(frame('hello').subarray(0, 7));
  assert.equal(framer.next(), undefined);
  assert.equal(framer.buffered, 7);
});
