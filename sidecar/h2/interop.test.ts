// The codec against other HTTP/2 implementations: curl (libcurl + nghttp2), nghttp, h2load
// and Node's http2 client as clients of a server connection; Node's http2 server as the
// peer of a client connection. (The sidecar's listeners get the same with TLS, grpc-js and
// nginx in integration/.)

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { H2Connection } from './connection.js';
import { DEFAULT_H2_OPTIONS } from './options.js';
import type { StreamHandler } from './stream.js';
import { startEchoServer, type EchoServer } from './test-support/echo-server.js';

const run = promisify(execFile);
let server: EchoServer;
let base: string;

before(async () => {
  server = await startEchoServer();
  base = `http://127.0.0.1:${server.port}`;
});
after(async () => {
  await server.close();
});

describe('clients of a server connection', () => {
  test('curl --http2-prior-knowledge: POST with a body, trailers shown', async () => {
    const { stdout } = await run('curl', ['-sS', '--http2-prior-knowledge', '-i', '-d', 'hello', `${base}/x`]);
    assert.match(stdout, /^HTTP\/2 200/);
    assert.match(stdout, /echo:hello/);
  });

  test('nghttp: several streams with a body', async () => {
    const { stdout } = await run('nghttp', ['-n', '-s', '-m', '10', '-d', '/dev/null', `${base}/x`]);
    assert.match(stdout, /200/);
    assert.doesNotMatch(stdout, /RST_STREAM|GOAWAY/);
  });

  test('h2load: 4,000 requests over 4 connections × 16 streams, none failed', async () => {
    const { stdout } = await run('h2load', ['-n', '4000', '-c', '4', '-m', '16', `${base}/x`]);
    assert.match(stdout, /4000 succeeded, 0 failed, 0 errored/, stdout);
    assert.match(stdout, /status codes: 4000 2xx/);
  });

  test("Node's http2 client: 100 concurrent streams, and a 3 MiB body", async () => {
    const session = http2.connect(base);
    try {
      const call = (body: Buffer): Promise<{ status: number; body: Buffer; trailers: http2.IncomingHttpHeaders }> =>
        new Promise((resolve, reject) => {
          const req = session.request({ ':method': 'POST', ':path': '/x' });
          const chunks: Buffer[] = [];
          let status = 0;
          let trailers: http2.IncomingHttpHeaders = {};
          req.on('response', (h) => (status = Number(h[':status'])));
          req.on('trailers', (t) => (trailers = t));
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => resolve({ status, body: Buffer.concat(chunks), trailers }));
          req.on('error', reject);
          req.end(body);
        });
      const many = await Promise.all(Array.from({ length: 100 }, (_, i) => call(Buffer.from(`n${i}`))));
      assert.ok(many.every((r, i) => r.status === 200 && r.body.toString() === `echo:n${i}` && r.trailers['grpc-status'] === '0'));
      const big = Buffer.alloc(3 << 20, 0x5a);
      const r = await call(big);
      assert.equal(r.body.length, big.length + 5);
    } finally {
      session.close();
    }
  });
});

describe('a client connection against Node’s http2 server', () => {
  let node: http2.Http2Server;
  before(async () => {
    node = http2.createServer();
    node.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'x-path': String(headers[':path']) }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => node.listen(0, '127.0.0.1', r));
  });
  after(() => {
    node.close();
  });

  test('100 concurrent requests and a 3 MiB body, flow control both ways', async () => {
    const socket = net.connect((node.address() as AddressInfo).port, '127.0.0.1');
    const conn = new H2Connection(socket, 'client', DEFAULT_H2_OPTIONS, {});
    const call = (path: string, body: Buffer): Promise<{ headers: string[]; body: Buffer; trailers: string[] }> =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let headers: string[] = [];
        const handler: StreamHandler = {
          onResponse: (_s, h) => void (headers = h),
          onData: (s, buf, _f, off, len) => {
            chunks.push(Buffer.from(buf.subarray(off, off + len)));
            s.consumed(len);
          },
          onTrailers: (_s, t) => resolve({ headers, body: Buffer.concat(chunks), trailers: t }),
          onReset: (_s, code) => reject(new Error(`reset ${code}`)),
          onSent: () => {},
          onComplete: () => {},
        };
        const s = conn.request([':method', 'POST', ':scheme', 'http', ':path', path, ':authority', 'node'], false, handler);
        if (s === undefined) return reject(new Error('no stream'));
        s.write(body, true);
      });
    try {
      const many = await Promise.all(Array.from({ length: 100 }, (_, i) => call(`/p${i}`, Buffer.from(`b${i}`))));
      many.forEach((r, i) => {
        assert.equal(r.body.toString(), `b${i}`);
        assert.equal(r.headers[r.headers.indexOf('x-path') + 1], `/p${i}`);
        assert.deepEqual(r.trailers, ['grpc-status', '0']);
      });
      const big = Buffer.alloc(3 << 20, 0x33);
      assert.equal((await call('/big', big)).body.length, big.length);
    } finally {
      conn.close();
    }
  });
});
