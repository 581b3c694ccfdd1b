// The benchmark's backend app: one h2c listener answering every gRPC call with the same
// reply (bench/proxy/grpc-wire.ts). Identical for every target, so it cancels out of the
// ratios. Two implementations, chosen with --impl (see BENCHMARKS.md for their cost):
//   raw      node:http2 directly (default: the leanest app, leaving the CPU to the proxies)
//   grpc-js  a @grpc/grpc-js server with a pass-through (no protobuf) handler
// Run as a forked child: sends {type:'ready', port} over IPC; exits when the parent goes.

import * as grpc from '@grpc/grpc-js';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { parseArgs } from 'node:util';
import { BENCH_PATH, REPLY_FRAME } from './grpc-wire.js';

const { values } = parseArgs({ options: { impl: { type: 'string', default: 'raw' }, port: { type: 'string', default: '0' } } });
const port = Number(values.port);

function startRaw(): Promise<number> {
  const server = http2.createServer({
    settings: { maxConcurrentStreams: 1000, initialWindowSize: 1 << 20 },
    maxSessionMemory: 64,
  });
  const trailers = { 'grpc-status': '0' };
  const noop = (): void => {};
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', noop);
    if (headers[':path'] !== BENCH_PATH) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      return;
    }
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.on('data', noop);
    stream.on('end', () => {
      if (stream.closed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.end(REPLY_FRAME);
    });
  });
  server.on('sessionError', noop);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function startGrpcJs(): Promise<number> {
  const server = new grpc.Server();
  const identity = (b: Buffer): Buffer => b;
  const reply = REPLY_FRAME.subarray(5);
  server.addService(
    {
      Unary: {
        path: BENCH_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    { Unary: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, reply) },
  );
  return new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
}

const impl = values.impl;
if (impl !== 'raw' && impl !== 'grpc-js') {
  process.stderr.write(`backend-app: unknown --impl ${impl} (raw | grpc-js)\n`);
  process.exit(2);
}
const bound = await (impl === 'raw' ? startRaw() : startGrpcJs());
// Never outlive the harness: when the IPC channel closes, so do we.
process.on('disconnect', () => process.exit(0));
if (process.send) process.send({ type: 'ready', port: bound });
else process.stdout.write(`${JSON.stringify({ type: 'ready', port: bound })}\n`);
