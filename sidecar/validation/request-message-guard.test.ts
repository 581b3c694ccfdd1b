import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync, deflateSync } from 'node:zlib';
import { create, toBinary } from '@bufbuild/protobuf';
import type { Rejection } from '../core/filter.js';
import { parseMethodPattern } from '../policy/patterns.js';
import { CompiledDescriptors } from './compiled-descriptors.js';
import { RequestMessageGuard, type GuardOptions } from './request-message-guard.js';
import { testDescriptors } from '../../integration/support/demo-declarations.js';

const compiled = new CompiledDescriptors(testDescriptors());
const TOO_LARGE: Rejection = Object.freeze({ code: 'MESSAGE_TOO_LARGE', reason: 'message_too_large' });
const Chat = compiled.declarations.registry.getMessage('meshward.test.v1.ChatLine')!;

function frame(body: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = flags;
  out.writeUInt32BE(body.length, 1);
  Buffer.from(body).copy(out, 5);
  return out;
}
const line = (text: string): Uint8Array => toBinary(Chat, create(Chat, { text }));

function guardOf(mode: 'enforce' | 'audit' = 'enforce', opts: Partial<GuardOptions> = {}) {
  const pattern = parseMethodPattern('meshward.test.v1.Fixtures/Chat');
  assert.ok(pattern.ok);
  const check = compiled.checksFor(pattern.value, { rule: 'chat:grpc[0]', mode }).get('meshward.test.v1.Fixtures/Chat')!;
  const audited: Rejection[] = [];
  const guard = new RequestMessageGuard(check, { encoding: undefined, maxMessageBytes: 1024, tooLarge: TOO_LARGE, onAudit: (r) => audited.push(r), ...opts });
  const released: Buffer[] = [];
  const push = (chunk: Buffer) => guard.push(chunk, (m) => released.push(m));
  const end = () => guard.end((m) => released.push(m));
  return { guard, released, audited, push, end };
}

describe('RequestMessageGuard', () => {
  it('releases the original bytes of valid messages however the stream is cut', () => {
    const stream = Buffer.concat([frame(line('hello')), frame(line('world, a longer line')), frame(line('!'))]);
    for (let a = 0; a <= stream.length; a++) {
      for (const b of [a, Math.min(stream.length, a + 3), stream.length]) {
        const g = guardOf();
        for (const chunk of [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]) assert.equal(g.push(chunk), undefined);
        assert.equal(g.end(), undefined);
        assert.deepEqual(Buffer.concat(g.released), stream, `cut at ${a}/${b}`);
        assert.equal(g.released.length, 3);
        assert.equal(g.guard.passed, 3);
      }
    }
  });

  it('holds a message until it is complete, and releases nothing of an invalid one', () => {
    const g = guardOf();
    const good = frame(line('ok'));
    const bad = frame(line(''));
    assert.equal(g.push(Buffer.concat([good, bad.subarray(0, 4)])), undefined);
    assert.deepEqual(g.released, [good]);
    const r = g.push(bad.subarray(4));
    assert.equal(r?.reason, 'invalid_message');
    assert.deepEqual(g.released, [good]);
  });

  it('refuses a message over the bound from its prefix, split or not', () => {
    const big = Buffer.alloc(5);
    big.writeUInt32BE(1025, 1);
    assert.equal(guardOf().push(big), TOO_LARGE);
    const g = guardOf();
    assert.equal(g.push(big.subarray(0, 2)), undefined);
    assert.equal(g.push(big.subarray(2)), TOO_LARGE);
  });

  it('inflates gzip and deflate messages for checking and releases them compressed', () => {
    for (const [encoding, zip] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      const g = guardOf('enforce', { encoding });
      const ok = frame(zip(line('compressed hello')), 1);
      assert.equal(g.push(ok), undefined);
      assert.deepEqual(g.released, [ok]);
      assert.equal(g.push(frame(zip(line('')), 1))?.reason, 'invalid_message');
    }
  });

  it('refuses a message that inflates past the bound with the size refusal', () => {
    const g = guardOf('enforce', { encoding: 'gzip' });
    const bomb = gzipSync(Buffer.concat([Buffer.from([0x0a, 0xd0, 0x0f]), Buffer.alloc(2000, 0x61)]));
    assert.ok(bomb.length < 1024);
    assert.equal(g.push(frame(bomb, 1)), TOO_LARGE);
    assert.equal(g.released.length, 0);
  });

  it('refuses compressed messages it cannot inflate, reserved flags and corrupt data as undecodable', () => {
    assert.equal(guardOf('enforce', { encoding: 'identity' }).push(frame(gzipSync(line('x')), 1))?.reason, 'undecodable_message');
    assert.equal(guardOf('enforce', { encoding: 'unsupported' }).push(frame(gzipSync(line('x')), 1))?.reason, 'undecodable_message');
    assert.equal(guardOf('enforce', { encoding: 'gzip' }).push(frame(Buffer.from('not gzip'), 1))?.reason, 'undecodable_message');
    assert.equal(guardOf().push(frame(line('x'), 2))?.reason, 'undecodable_message');
    assert.equal(guardOf().push(frame(Buffer.from([0xff, 0xff])))?.reason, 'undecodable_message');
  });

  it('refuses a request that ends inside a message', () => {
    const g = guardOf();
    assert.equal(g.push(frame(line('partial')).subarray(0, 7)), undefined);
    assert.equal(g.end()?.reason, 'undecodable_message');
    assert.equal(g.released.length, 0);
  });

  it('in audit mode releases every byte as it came and reports the first failure once', () => {
    const g = guardOf('audit');
    const stream = Buffer.concat([frame(line('')), frame(Buffer.from([0xff])), frame(line('fine'))]);
    assert.equal(g.push(stream), undefined);
    const tail = frame(line('cut')).subarray(0, 6);
    assert.equal(g.push(tail), undefined);
    assert.equal(g.end(), undefined);
    assert.deepEqual(Buffer.concat(g.released), Buffer.concat([stream, tail]));
    assert.equal(g.audited.length, 1);
    assert.equal(g.audited[0]?.reason, 'invalid_message');
  });
});
