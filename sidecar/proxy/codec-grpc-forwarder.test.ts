// The gRPC forwarder on meshward's own codec over real HTTP/2 on loopback (a node:http2
// client, a codec front with the forwarder, an h2c node:http2 app): byte-for-byte relay,
// asserted headers, trailers, failures as gRPC statuses, and the body hooks — the chunk
// guard, message guards and pacers — as a relay must honour them.
import assert from 'node:assert/strict';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import type { MessageGuard, Pacer } from '../core/body-hooks.js';
import { RejectCode } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import { dataSnapshotOf, policyOf, testCall } from '../pipeline/call.test-helper.js';
import { FrameSizeGuard } from '../ratelimit/frame-size-guard.js';
import { H2Connection } from '../h2/connection.js';
import { h2Options } from '../h2/options.js';
import { H2UpstreamPool } from '../h2/upstream-pool.js';
import { CodecExchange } from './codec-exchange.js';
import { CodecGrpcForwarder } from './codec-grpc-forwarder.js';

const SNAPSHOT = dataSnapshotOf(policyOf('apiVersion: meshward.dev/v1alpha1\nkind: Policy\nmetadata: { name: p }\nspec: {}\n'));
const closers: Array<() => void> = [];
after(() => closers.forEach((c) => c()));

function frame(payload: string): Buffer {
  const b = Buffer.alloc(5 + Buffer.byteLength(payload));
  b.writeUInt32BE(Buffer.byteLength(payload), 1);
  b.write(payload, 5);
  return b;
}

interface AppStream {
  headers: IncomingHttpHeaders;
  body: Buffer;
  closed: Promise<number>;
}

async function listen(server: http2.Http2Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** An h2c app: records each stream; `answer` decides what it sends back. */
async function startApp(answer: (stream: ServerHttp2Stream, s: AppStream) => void): Promise<{ port: number; streams: AppStream[] }> {
  const streams: AppStream[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    const s: AppStream = { headers, body: Buffer.alloc(0), closed: new Promise((r) => stream.once('close', () => r(stream.rstCode ?? 0))) };
    stream.on('error', () => undefined);
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      s.body = Buffer.concat(chunks);
    });
    streams.push(s);
    answer(stream, s);
  });
  server.on('session', (session) => closers.push(() => session.destroy()));
  return { port: await listen(server), streams };
}

/** The front: each stream becomes an exchange and a call (`shape` sets its hooks), forwarded to `appPort`. */
async function startFront(appPort: number, shape: (call: Call) => void = () => undefined): Promise<{ client: ClientHttp2Session; calls: Call[] }> {
  const options = h2Options();
  const pool = new H2UpstreamPool({ host: '127.0.0.1', port: appPort }, options);
  closers.push(() => pool.destroy());
  const forwarder = new CodecGrpcForwarder(pool, 'spiffe://t/ns/app/sa/me');
  const calls: Call[] = [];
  const server = net.createServer((socket) => {
    const conn = new H2Connection(socket, 'server', options, {
      onStream(_c, stream, headers, head) {
        const exchange = new CodecExchange(stream, headers, head);
        const call = testCall({ target: exchange.target, headers, principal: 'spiffe://t/ns/web/sa/caller', snapshot: SNAPSHOT });
        shape(call);
        calls.push(call);
        // As the pipeline does: the forward waits one turn (DATA of the same read waits in the exchange).
        setImmediate(() => forwarder.forward(call, exchange));
      },
    });
    closers.push(() => conn.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  client.on('error', () => undefined);
  closers.push(() => client.destroy());
  return { client, calls };
}

interface Answer {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders | undefined;
  body: Buffer;
}

/** A gRPC call from `client`: each element of `messages` is one write; resolves when the stream closes. */
function grpcCall(client: ClientHttp2Session, messages: Buffer[], extra: Record<string, string> = {}): Promise<Answer> {
  const req = client.request({ ':method': 'POST', ':path': '/t.v1.S/M', 'content-type': 'application/grpc', te: 'trailers', ...extra });
  const answer: Answer = { headers: {}, trailers: undefined, body: Buffer.alloc(0) };
  req.on('response', (h) => (answer.headers = h));
  req.on('trailers', (t) => (answer.trailers = t));
  req.on('data', (c: Buffer) => (answer.body = Buffer.concat([answer.body, c])));
  req.on('error', () => undefined);
  const writeNext = (i: number): void => {
    if (i === messages.length) return void req.end();
    req.write(messages[i], () => setTimeout(() => writeNext(i + 1), 20));
  };
  writeNext(0);
  return new Promise((resolve) => req.once('close', () => resolve(answer)));
}

const status = (a: Answer): string | undefined => String(a.trailers?.['grpc-status'] ?? a.headers['grpc-status']);

test('relays a call byte for byte (codec): the caller’s asserted headers replaced, a deadline sent, the app’s trailers back', async () => {
  const app = await startApp((stream, s) => {
    stream.once('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-app': 'yes' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-trailer': 'kept' }));
      stream.end(s.body);
    });
  });
  const { client } = await startFront(app.port);
  const sent = Buffer.concat([frame('hello'), frame('world')]);
  const answer = await grpcCall(client, [sent], { 'x-meshward-principal': 'spiffe://forged', 'grpc-timeout': '2S', 'x-custom': 'c' });
  const seen = app.streams[0]!;
  assert.deepEqual(seen.body, sent, 'the app got the bytes as sent');
  assert.equal(seen.headers['x-meshward-principal'], 'spiffe://t/ns/web/sa/caller');
  assert.match(String(seen.headers['x-forwarded-client-cert']), /^By=spiffe:\/\/t\/ns\/app\/sa\/me;Hash=;URI=spiffe:\/\/t\/ns\/web\/sa\/caller$/);
  assert.equal(seen.headers['x-custom'], 'c');
  assert.match(String(seen.headers['grpc-timeout']), /^\d+m$/);
  assert.deepEqual(answer.body, sent);
  assert.equal(answer.headers['x-app'], 'yes');
  assert.equal(answer.trailers?.['x-trailer'], 'kept');
  assert.equal(status(answer), '0');
});

test('an app that refuses the stream is 14 UNAVAILABLE, trailers-only; a reset it chose is passed on', async () => {
  const refusing = await startApp((stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
  const answer = await grpcCall((await startFront(refusing.port)).client, [frame('x')]);
  assert.equal(answer.headers['grpc-status'], '14');
  assert.equal(answer.headers['grpc-message'], 'upstream unavailable');
  assert.equal(answer.trailers, undefined);

  const resetting = await startApp((stream) => stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM));
  const front = await startFront(resetting.port);
  const req = front.client.request({ ':method': 'POST', ':path': '/t.v1.S/M', 'content-type': 'application/grpc' });
  req.on('error', () => undefined);
  req.write(frame('x')); // still sending: the app's reset is a reset mid-call (RFC 9113 'aborted')
  await new Promise((r) => req.once('close', r));
  assert.equal(req.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  req.destroy();
});

test('the deadline: the caller gets 4, the app’s stream is cancelled', async () => {
  const app = await startApp(() => undefined); // never answers
  const { client } = await startFront(app.port, (call) => (call.timeoutMs = 150));
  const answer = await grpcCall(client, [frame('slow')]);
  assert.equal(status(answer), '4');
  assert.equal(await app.streams[0]!.closed, http2.constants.NGHTTP2_CANCEL);
});

test('the chunk guard refuses a message before its bytes reach the app; the refusal is the call’s late rejection', async () => {
  const tooLarge: Rejection = { code: RejectCode.MESSAGE_TOO_LARGE, reason: 'message_too_large' };
  const app = await startApp(() => undefined);
  const { client, calls } = await startFront(app.port, (call) => (call.requestGuard = new FrameSizeGuard(10, tooLarge)));
  const answer = await grpcCall(client, [frame('small'), frame('x'.repeat(100))]);
  assert.equal(status(answer), '8');
  assert.equal(answer.headers['grpc-message'] ?? answer.trailers?.['grpc-message'], 'message too large');
  assert.deepEqual(app.streams[0]!.body, frame('small'), 'only the message before the refused one');
  assert.equal(await app.streams[0]!.closed, http2.constants.NGHTTP2_CANCEL);
  assert.equal(calls[0]!.lateRejection, tooLarge);
});

test('a message guard sees the request bytes; only what it releases reaches the app, and its refusal ends the call', async () => {
  const invalid: Rejection = { code: RejectCode.INVALID_MESSAGE, reason: 'invalid_message' };
  const app = await startApp(() => undefined);
  const { client, calls } = await startFront(app.port, (call) => (call.messageGuard = wholeMessages(invalid)));
  // The first message split over two writes, the second whole: the guard releases messages, not chunks.
  const first = frame('good one');
  const answer = await grpcCall(client, [first.subarray(0, 7), first.subarray(7), frame('a bad one')]);
  assert.equal(status(answer), '3');
  assert.deepEqual(app.streams[0]!.body, first, 'the passed message, as sent; nothing of the refused one');
  assert.equal(calls[0]!.lateRejection, invalid);
});

test('a guard that holds the first message: a refused first message never opens the app\'s stream', async () => {
  const invalid: Rejection = { code: RejectCode.INVALID_MESSAGE, reason: 'invalid_message' };
  const app = await startApp(() => undefined);
  const { client } = await startFront(app.port, (call) => (call.messageGuard = wholeMessages(invalid, true)));
  const answer = await grpcCall(client, [frame('a bad one')]);
  assert.equal(status(answer), '3');
  assert.equal(app.streams.length, 0, 'the app never saw the call');
});

/** A stand-in message guard: gathers whole gRPC messages and refuses one containing "bad". */
function wholeMessages(refusal: Rejection, holdFirst = false): MessageGuard {
  let buffered = Buffer.alloc(0);
  let passed = 0;
  return {
    holdFirst,
    get passed() {
      return passed;
    },
    push(chunk, release) {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
        const message = buffered.subarray(0, 5 + buffered.readUInt32BE(1));
        buffered = buffered.subarray(message.length);
        if (message.subarray(5).toString().includes('bad')) return refusal;
        passed++;
        release(message);
      }
      return undefined;
    },
    end: () => (buffered.length > 0 ? refusal : undefined),
  };
}

test('pacers are asked for every relayed byte, both ways, and their delays hold the bytes', async () => {
  const app = await startApp((stream, s) => {
    stream.once('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(s.body);
    });
  });
  const paced = { request: 0, response: 0 };
  const pacer = (dir: 'request' | 'response', holdMs: number): Pacer => ({ pace: (bytes) => ((paced[dir] += bytes), holdMs) });
  const { client } = await startFront(app.port, (call) => {
    call.requestPacers = [pacer('request', 0)];
    call.responsePacers = [pacer('response', 120)];
  });
  const sent = frame('z'.repeat(1000));
  const started = performance.now();
  const answer = await grpcCall(client, [sent]);
  assert.equal(status(answer), '0');
  assert.deepEqual(answer.body, sent);
  assert.deepEqual(paced, { request: sent.length, response: sent.length });
  assert.ok(performance.now() - started >= 110, 'the response was held by its pacer');
});
