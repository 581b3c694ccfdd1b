// A node:http2 stream as an exchange: what reply.ts writes through it, what observers read
// back from it (gRPC and HTTP semantics), and the request body bounded.
import assert from 'node:assert/strict';
import http2, { type ClientHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { RejectCode } from '../core/codes.js';
import type { CallOutcome } from '../core/observer.js';
import { reply } from '../core/reply.js';
import { H2Exchange, H2HttpExchange } from './h2-exchange.js';

type Handler = (x: H2Exchange) => void;
let handle: Handler = () => undefined;
let graphql = false;
const outcomes: CallOutcome[] = [];
const server = http2.createServer();
server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
  stream.on('error', () => undefined);
  const x = graphql ? new H2HttpExchange(stream, headers, raw) : new H2Exchange(stream, headers, raw);
  x.onClose(() => outcomes.push(x.outcome(performance.now())));
  handle(x);
});
let client: ClientHttp2Session;
const ready = new Promise<void>((resolve) =>
  server.listen(0, '127.0.0.1', () => {
    client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    resolve();
  }),
);
after(() => {
  client.destroy();
  server.close();
});

async function request(headers: Record<string, string>, body?: Buffer): Promise<{ headers: http2.IncomingHttpHeaders; body: string; rst: number | undefined }> {
  await ready;
  const req = client.request({ ':method': 'POST', ':path': '/a.B/C', ...headers });
  let text = '';
  let h: http2.IncomingHttpHeaders = {};
  req.on('response', (r) => (h = r));
  req.on('data', (c: Buffer) => (text += c.toString()));
  req.on('error', () => undefined);
  if (body !== undefined) req.end(body);
  return new Promise((resolve) => req.once('close', () => resolve({ headers: h, body: text, rst: req.rstCode })));
}

test('a gRPC refusal is a trailers-only answer; the outcome is its grpc-status', async () => {
  graphql = false;
  handle = (x) => {
    assert.equal(x.method, 'POST');
    assert.equal(x.target, '/a.B/C');
    assert.equal(x.headers.get('content-type'), 'application/grpc');
    reply(x, 'grpc', { code: RejectCode.RATE_LIMITED, reason: 'r', replyHeaders: { 'grpc-status-details-bin': 'AAA' } });
  };
  const r = await request({ 'content-type': 'application/grpc' }, Buffer.alloc(5));
  assert.equal(r.headers[':status'], 200);
  assert.equal(r.headers['grpc-status'], '8');
  assert.equal(r.headers['grpc-message'], 'rate limit exceeded');
  assert.equal(r.headers['grpc-status-details-bin'], 'AAA');
  assert.deepEqual({ ...outcomes.at(-1)!, durationMs: 0 }, { grpcStatus: 8, httpStatus: 200, rstCode: undefined, durationMs: 0 });
});

test('a code without a gRPC form is plain HTTP (415); a second reply after headers resets the stream', async () => {
  graphql = false;
  handle = (x) => reply(x, 'grpc', { code: RejectCode.UNSUPPORTED_MEDIA_TYPE, reason: 'not_grpc' });
  const r = await request({ 'content-type': 'text/plain' }, Buffer.from('hi'));
  assert.equal(r.headers[':status'], 415);
  assert.equal(r.body, 'unsupported media type\n');
  assert.equal(outcomes.at(-1)!.httpStatus, 415);

  handle = (x) => {
    x.stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    reply(x, 'grpc', { code: RejectCode.INTERNAL, reason: 'late' });
  };
  const late = await request({ 'content-type': 'application/grpc' });
  assert.equal(late.rst, http2.constants.NGHTTP2_INTERNAL_ERROR);
  assert.equal(outcomes.at(-1)!.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
});

test('GraphQL over HTTP/2: the body read whole or refused past the bound; the outcome is the HTTP status', async () => {
  graphql = true;
  const reads: unknown[] = [];
  handle = (x) =>
    void x.readBody(8).then((b) => {
      reads.push(Buffer.isBuffer(b) ? b.toString() : b);
      reply(x, 'graphql', { code: RejectCode.PERMISSION_DENIED, reason: 'no' });
    });
  const ok = await request({ 'content-type': 'application/json', accept: 'application/graphql-response+json' }, Buffer.from('{"a":1}'));
  assert.equal(ok.headers[':status'], 403);
  assert.equal(ok.headers['content-type'], 'application/graphql-response+json; charset=utf-8');
  assert.deepEqual(JSON.parse(ok.body).errors[0].extensions, { code: 'FORBIDDEN' });
  const big = await request({ 'content-type': 'application/json', 'content-length': '100' }, Buffer.alloc(100));
  assert.equal(big.headers[':status'], 403);
  assert.deepEqual(reads, ['{"a":1}', 'too_large']);
  assert.deepEqual({ ...outcomes.at(-1)!, durationMs: 0 }, { grpcStatus: undefined, httpStatus: 403, rstCode: undefined, durationMs: 0 });
});
