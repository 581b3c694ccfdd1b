// The sidecar's HTTP/2 (meshward's own codec, issue 14) against other implementations, over
// real processes: grpc-js clients and servers, curl and nghttp (libnghttp2, with client
// certificates), Node's http2 client, h2load on the outbound listener, and nginx's
// grpc_pass as a client of the outbound listener — each call checked end to end.

import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { methodPaths } from '../demo/proto.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { bidi, closeAllClients, echoClient, serverStream, unary } from './support/grpc-clients.js';
import { freePort, splitHostPort } from './support/ports.js';
import { grpcFrame, parseGrpcFrames, rawRequest } from './support/raw-h2.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, issueSvid, makePki, serverId, type Pki, type Svid } from './support/tls-fixtures.js';

const run = promisify(execFile);
const NGINX = '/usr/sbin/nginx';
const ROUTE = 'orders.shop.svc.cluster.local:50051';

let dir: string;
let pki: Pki;
let app: EchoApp;
/** B: the app's sidecar (inbound, mTLS). A: a caller's sidecar with an outbound route to B. */
let sidecarB: SidecarProcess;
let sidecarA: SidecarProcess;
let svidA: Svid;
let nginx: ChildProcess | undefined;
let reqFile: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-h2-interop-'));
  pki = await makePki(join(dir, 'pki'));
  svidA = await issueSvid(pki.dir, 'frontend', pki.ca, { spiffeId: 'spiffe://cluster.local/ns/web/sa/frontend' });
  app = await startEchoApp();
  const configB = await writeSidecarConfig(dir, { appPort: app.port, pki, allowAnyAuthenticated: true, fileName: 'b.yaml' });
  sidecarB = await startSidecar(configB, { timeoutMs: 30_000 });
  const configA = await writeSidecarConfig(dir, {
    appPort: await freePort(),
    pki,
    svid: svidA,
    fileName: 'a.yaml',
    extra: ['outbound:', '  listen: 127.0.0.1:0', '  routes:', `    - { authority: "${ROUTE}", address: "${sidecarB.inbound}", identity: "${serverId()}" }`].join('\n'),
  });
  sidecarA = await startSidecar(configA, { timeoutMs: 30_000 });
  // A gRPC request body (an EchoRequest with message "hi": field 1, length 2) for the command-line clients.
  reqFile = join(dir, 'request.bin');
  await writeFile(reqFile, grpcFrame(Buffer.from([0x0a, 0x02, 0x68, 0x69])));
});

after(async () => {
  closeAllClients();
  if (nginx !== undefined && nginx.exitCode === null) nginx.kill('SIGKILL');
  await stopAll();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

const mtls = (): ReturnType<typeof clientTls> => clientTls(pki, pki.client);
const callsTo = (path: string): number => app.calls.filter((c) => c.method === path).length;

describe('grpc-js', () => {
  test('a grpc-js client through the inbound listener (mTLS) to a grpc-js server: unary, server stream, bidi', async () => {
    const client = echoClient(sidecarB.inbound, mtls(), { servername: 'b' });
    const u = await unary(client, { message: 'hello' });
    assert.equal(u.status, 0, u.details);
    assert.equal(u.reply!.message, 'hello');
    const s = await serverStream(client, { count: 50, payloadSize: 10_000 });
    assert.equal(s.status, 0, s.details);
    assert.equal(s.count, 50);
    const b = await bidi(client, Array.from({ length: 20 }, (_, i) => ({ message: `m${i}` })));
    assert.equal(b.status, 0, b.details);
    assert.equal(b.count, 20);
  });

  test('a grpc-js client through the outbound listener (h2c) and the mTLS hop to the app', async () => {
    const client = echoClient(sidecarA.outbound, 'insecure', { channelOptions: { 'grpc.default_authority': ROUTE } });
    const r = await unary(client, { message: 'via A' });
    assert.equal(r.status, 0, r.details);
    assert.equal(r.reply!.metadata['x-meshward-principal'], 'spiffe://cluster.local/ns/web/sa/frontend');
  });
});

describe('command-line clients (libnghttp2)', () => {
  test('curl --http2 over mTLS: the reply and its trailers', async () => {
    const before = callsTo(methodPaths.unary);
    const { port } = splitHostPort(sidecarB.inbound);
    const { stdout } = await run('curl', [
      // -k: the SVID carries a SPIFFE ID, no DNS name for curl to check (the CA still signs the client's).
      '-sS', '--http2', '-i', '-k', '--cert', pki.client.certFile, '--key', pki.client.keyFile,
      '-H', 'content-type: application/grpc', '-H', 'te: trailers',
      '--data-binary', `@${reqFile}`, `https://127.0.0.1:${port}${methodPaths.unary}`,
    ]);
    assert.match(stdout, /^HTTP\/2 200/);
    assert.match(stdout, /grpc-status: 0/);
    assert.equal(callsTo(methodPaths.unary), before + 1);
  });

  test('nghttp over mTLS: HEADERS, DATA and trailers, no RST_STREAM or GOAWAY', async () => {
    const { port } = splitHostPort(sidecarB.inbound);
    const { stdout } = await run('nghttp', [
      '-v', '--cert', pki.client.certFile, '--key', pki.client.keyFile,
      '-H', ':method: POST', '-H', 'content-type: application/grpc', '-H', 'te: trailers',
      '-d', reqFile, `https://127.0.0.1:${port}${methodPaths.unary}`,
    ]);
    assert.match(stdout, /:status: 200/);
    assert.match(stdout, /grpc-status: 0/);
    assert.doesNotMatch(stdout, /recv RST_STREAM|recv GOAWAY frame <length=\d+, flags=0x00, stream_id=0>\s+\(last_stream_id=\d+, error_code=(?!NO_ERROR)/);
  });

  test('h2load on the outbound listener: 2,000 calls over 4 connections × 10 streams, none failed', async () => {
    const before = callsTo(methodPaths.unary);
    const { stdout } = await run('h2load', [
      '-n', '2000', '-c', '4', '-m', '10', '-H', `:authority: ${ROUTE}`,
      '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', reqFile, `http://${sidecarA.outbound}${methodPaths.unary}`,
    ]);
    assert.match(stdout, /2000 succeeded, 0 failed, 0 errored/, stdout);
    assert.equal(callsTo(methodPaths.unary), before + 2000);
  });

  test('h2load asking for 250 streams per connection keeps to the 100 announced: no stream refused', async () => {
    const before = callsTo(methodPaths.unary);
    const { stdout } = await run('h2load', [
      '-n', '1000', '-c', '1', '-m', '250', '-H', `:authority: ${ROUTE}`,
      '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', reqFile, `http://${sidecarA.outbound}${methodPaths.unary}`,
    ]);
    assert.match(stdout, /1000 succeeded, 0 failed, 0 errored/, stdout);
    assert.equal(callsTo(methodPaths.unary), before + 1000);
  });
});

test("Node's http2 client over mTLS: a raw gRPC call, its reply and trailers", async () => {
  const r = await rawRequest(sidecarB.inbound, mtls(), { path: methodPaths.unary, body: grpcFrame(Buffer.from([0x0a, 0x02, 0x68, 0x69])), headers: { te: 'trailers' } });
  assert.equal(r.status, 200);
  assert.equal(r.trailers['grpc-status'], '0');
  const { messages } = parseGrpcFrames(r.body);
  assert.equal(messages.length, 1);
  assert.ok(messages[0]!.message.includes(Buffer.from('hi')));
});

describe('nginx', { skip: !existsSync(NGINX) && 'nginx not installed' }, () => {
  test('nginx grpc_pass as a client of the outbound listener', async () => {
    const prefix = join(dir, 'nginx');
    await mkdir(prefix, { recursive: true });
    const port = await freePort();
    const conf = join(prefix, 'nginx.conf');
    await writeFile(
      conf,
      `daemon off;
master_process off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port} http2;
    location / {
      grpc_set_header Host "${ROUTE}";
      grpc_pass grpc://${sidecarA.outbound};
    }
  }
}
`,
    );
    nginx = spawn(NGINX, ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      if (await canConnect(port)) break;
      assert.ok(i < 250 && nginx.exitCode === null, 'nginx listening');
      await new Promise((r) => setTimeout(r, 20));
    }
    const client = echoClient(`127.0.0.1:${port}`, 'insecure');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => unary(client, { message: `n${i}` })));
    assert.ok(results.every((r, i) => r.status === 0 && r.reply!.message === `n${i}`), JSON.stringify(results.map((r) => r.details)));
    const s = await serverStream(client, { count: 30, payloadSize: 20_000 });
    assert.equal(s.status, 0, s.details);
    assert.equal(s.count, 30);
    nginx.kill('SIGQUIT');
  });
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
