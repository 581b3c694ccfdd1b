// The relay honours its owner's body hooks, with grpc-js on both sides: a guard on each
// request DATA payload (a refused payload never reaches the app), a message guard that
// releases whole checked messages (order kept, a refused message never relayed, an
// incomplete last one dropped, a refused first message never opening the app's stream when
// it holds the first), and pacing both ways (slower, bytes intact).

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../../demo/echo-app.js';
import { methodPaths } from '../../demo/proto.js';
import { bidi, clientStream, closeAllClients, echoClient, serverStream, unary } from '../../integration/support/grpc-clients.js';
import type { LaneGuard } from './relay-lane.js';
import { startRelayServer, type HooksFor, type RelayServer } from './test-support/relay-server.js';

let app: EchoApp;
const relays: RelayServer[] = [];

before(async () => {
  app = await startEchoApp();
});
after(async () => {
  closeAllClients();
  for (const r of relays) await r.close();
  await app.close();
});

async function relayWith(hooksFor: HooksFor): Promise<string> {
  const r = await startRelayServer(app.port, {}, hooksFor);
  relays.push(r);
  return `127.0.0.1:${r.port}`;
}

/** Releases whole length-prefixed messages out of any chunking; `check` may refuse one. */
function messages(check: (m: Buffer) => number | undefined = () => undefined, keepPartial = true): LaneGuard<number> {
  let buf = Buffer.alloc(0);
  return {
    push(chunk, release) {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const m = buf.subarray(0, 5 + buf.readUInt32BE(1));
        buf = buf.subarray(m.length);
        const r = check(m);
        if (r !== undefined) return r;
        release(m);
      }
      return undefined;
    },
    // keepPartial: an incomplete last message is kept (dropped by the lane), not refused.
    end: () => (buf.length > 0 && !keepPartial ? 3 : undefined),
  };
}

const callsOf = (path: string): number => app.calls.filter((c) => c.method === path).length;
const lastCall = () => app.calls[app.calls.length - 1]!;

describe('request guard', () => {
  test('a refused DATA payload is never written to the app; the caller gets the refusal', async () => {
    const target = await relayWith(() => ({ requestGuard: { check: (chunk) => (chunk.includes('forbidden') ? 8 : undefined) } }));
    const client = echoClient(target, 'insecure');
    assert.equal((await unary(client, { message: 'fine' })).status, 0);
    const before = app.calls.length;
    const r = await unary(client, { message: 'forbidden' });
    assert.equal(r.status, 8);
    await new Promise((res) => setTimeout(res, 100));
    const got = app.calls.slice(before);
    assert.ok(got.every((c) => c.received === 0), JSON.stringify(got));
  });
});

describe('message guard', () => {
  const bad = (m: Buffer): number | undefined => (m.includes('bad') ? 3 : undefined);
  test('messages pass in order; a refused one never reaches the app', async () => {
    const target = await relayWith(() => ({ messageGuard: { guard: messages(bad), failed: 13, holdFirst: false } }));
    const client = echoClient(target, 'insecure');
    const ok = await bidi(client, Array.from({ length: 30 }, (_, i) => ({ message: `m${i}`, payload: Buffer.alloc(i * 1000) })));
    assert.equal(ok.status, 0, ok.details);
    assert.deepEqual(
      ok.replies.map((x) => x.message),
      Array.from({ length: 30 }, (_, i) => `m${i}`),
    );
    const r = await clientStream(client, [{ message: 'one' }, { message: 'two' }, { message: 'bad' }, { message: 'four' }]);
    assert.equal(r.status, 3);
    await new Promise((res) => setTimeout(res, 100));
    assert.ok(lastCall().received <= 2, `the app received ${lastCall().received} messages`);
  });

  test('holdFirst: the app\'s stream opens with the first released message; a refused first message never reaches the app', async () => {
    const target = await relayWith(() => ({ messageGuard: { guard: messages(bad), failed: 13, holdFirst: true } }));
    const client = echoClient(target, 'insecure');
    const ok = await unary(client, { message: 'fine' });
    assert.equal(ok.status, 0, ok.details);
    assert.equal(ok.reply!.message, 'fine');
    const before = app.calls.length;
    const r = await unary(client, { message: 'bad' });
    assert.equal(r.status, 3);
    const s = await clientStream(client, [{ message: 'one' }, { message: 'two' }]);
    assert.equal(s.status, 0, s.details);
    const got = app.calls.slice(before);
    assert.equal(got.length, 1, 'only the client stream reached the app');
    assert.equal(got[0]!.received, 2);
  });

  test('a guard that throws fails the call with its `failed` value', async () => {
    const guard = messages(() => {
      throw new Error('bug');
    });
    const target = await relayWith(() => ({ messageGuard: { guard, failed: 13, holdFirst: false } }));
    const r = await unary(echoClient(target, 'insecure'), { message: 'x' });
    assert.equal(r.status, 13);
  });

  test('an incomplete last message the guard keeps is not relayed', async () => {
    const target = await relayWith(() => ({ messageGuard: { guard: messages(), failed: 13, holdFirst: false } }));
    const before = callsOf(methodPaths.clientStream);
    const session = http2.connect(`http://${target}`);
    try {
      const req = session.request({ ':method': 'POST', ':path': methodPaths.clientStream, 'content-type': 'application/grpc', te: 'trailers' });
      const full = Buffer.from([0, 0, 0, 0, 2, 0x0a, 0]); // one message: message = ""
      const partial = Buffer.from([0, 0, 0, 0, 9, 0x0a, 1]); // promises 9 octets, sends 2
      let status = '';
      req.on('response', (h) => (status = String(h['grpc-status'] ?? status)));
      req.on('trailers', (t) => (status = String(t['grpc-status'])));
      req.on('data', () => {});
      req.end(Buffer.concat([full, partial]));
      await new Promise((res) => req.on('close', res));
      assert.equal(callsOf(methodPaths.clientStream), before + 1);
      assert.equal(lastCall().received, 1, 'only the complete message reached the app');
    } finally {
      session.close();
    }
  });
});

describe('pacing', () => {
  // 200 KiB/s each way: a 100 KiB message takes ≥ ~0.4 s through both pacers.
  const pacer = () => {
    let next = 0;
    return {
      pace(bytes: number, now: number): number {
        const at = Math.max(next, now);
        next = at + (bytes / 200_000) * 1000;
        return at - now;
      },
    };
  };
  test('both directions paced; bytes intact', async () => {
    const target = await relayWith(() => ({ requestPacers: [pacer()], responsePacers: [pacer()] }));
    const client = echoClient(target, 'insecure');
    const payload = Buffer.alloc(100_000, 0x61);
    const t0 = performance.now();
    const r = await unary(client, { message: 'paced', payload });
    const ms = performance.now() - t0;
    assert.equal(r.status, 0, r.details);
    assert.equal(r.reply!.payload.length, payload.length);
    assert.ok(ms >= 700, `took ${ms.toFixed(0)} ms`);
    const s = await serverStream(client, { count: 5, payloadSize: 20_000 });
    assert.equal(s.status, 0);
    assert.equal(s.bytes, 100_000);
  });
});
