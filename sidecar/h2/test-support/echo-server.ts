// A server on the own codec for the conformance tests (tests only): answers each request,
// once its body has ended, with 200, "echo:<body>" and trailers; records every request the
// codec delivered, so a test can assert that a malformed one never was. With `hold`, the
// answers wait until the test releases them.

import net, { type AddressInfo } from 'node:net';
import { H2Connection } from '../connection.js';
import { h2Options, type H2Options } from '../options.js';
import type { H2Stream, StreamHandler } from '../stream.js';

export interface EchoServer {
  readonly port: number;
  readonly requests: string[][];
  readonly connections: H2Connection[];
  /** Streams waiting for release (hold mode). */
  readonly held: H2Stream[];
  release(stream: H2Stream): void;
  close(): Promise<void>;
}

export async function startEchoServer(overrides: Partial<H2Options> = {}, opts: { hold?: boolean } = {}): Promise<EchoServer> {
  const options = h2Options(overrides);
  const requests: string[][] = [];
  const connections: H2Connection[] = [];
  const held: H2Stream[] = [];
  const bodies = new WeakMap<H2Stream, Buffer[]>();

  const answer = (stream: H2Stream): void => {
    const body = Buffer.concat(bodies.get(stream) ?? []);
    stream.respond([':status', '200', 'content-type', 'application/grpc'], false);
    stream.write(Buffer.concat([Buffer.from('echo:'), body]), false);
    stream.trailers(['grpc-status', '0']);
  };
  const done = (stream: H2Stream): void => {
    if (opts.hold) held.push(stream);
    else answer(stream);
  };
  const handler: StreamHandler = {
    onResponse() {},
    onData(stream, buf, _f, dataOff, dataLen, endStream) {
      bodies.get(stream)!.push(Buffer.from(buf.subarray(dataOff, dataOff + dataLen)));
      stream.consumed(dataLen);
      if (endStream) done(stream);
    },
    onTrailers(stream) {
      done(stream);
    },
    onReset() {},
    onSent() {},
    onComplete() {},
  };

  const server = net.createServer((socket) => {
    const conn = new H2Connection(socket, 'server', options, {
      onStream(_c, stream, headers, _head, endStream) {
        requests.push(headers);
        bodies.set(stream, []);
        stream.handler = handler;
        if (endStream) done(stream);
      },
    });
    connections.push(conn);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    connections,
    held,
    release(stream) {
      held.splice(held.indexOf(stream), 1);
      answer(stream);
    },
    async close() {
      for (const c of connections) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
