// Bad input from the network never reaches the app and never crashes the sidecar:
// malformed :path variants, non-gRPC requests, rapid resets, oversized header lists,
// garbage bytes; plus the configured deadline cap and a bad config at startup.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { methodPaths } from '../demo/proto.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { closeAllClients, echoClient, unary } from './support/grpc-clients.js';
import { splitHostPort } from './support/ports.js';
import { grpcFrame, rapidReset, rawRapidReset, rawRequest } from './support/raw-h2.js';
import { runMeshward, startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, makePki, type Pki } from './support/tls-fixtures.js';

let dir: string;
let pki: Pki;
let app: EchoApp;
let sidecar: SidecarProcess;
let mtls: ReturnType<typeof clientTls>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-hardening-'));
  pki = await makePki(join(dir, 'pki'));
  mtls = clientTls(pki, pki.client);
  app = await startEchoApp();
  const config = await writeSidecarConfig(dir, {
    appPort: app.port,
    pki,
    allowAnyAuthenticated: true,
    extra: 'shutdown:\n  drainTimeout: 2s\n',
  });
  await writeFile(config, (await import('node:fs')).readFileSync(config, 'utf8').replace('  allowAnyAuthenticated: true', '  allowAnyAuthenticated: true\n  maxTimeout: 400ms'));
  sidecar = await startSidecar(config);
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

const body = grpcFrame(Buffer.alloc(0));

describe('malformed :path is never forwarded', () => {
  const valid = methodPaths.unary; // /meshward.demo.v1.Echo/Unary
  const variants = [
    '/meshward.demo.v1.Echo/../meshward.demo.v1.Admin/Ping',
    '/meshward.demo.v1.Echo/./Unary',
    '/./meshward.demo.v1.Echo/Unary',
    '//meshward.demo.v1.Echo/Unary',
    '/meshward.demo.v1.Echo//Unary',
    '/meshward.demo.v1.Echo/Unary/',
    '/meshward.demo.v1.Echo%2FUnary',
    '/meshward%2Edemo.v1.Echo/Unary',
    '/meshward.demo.v1.Echo/Un%61ry',
    '/meshward.demo.v1.Echo/Unary?x=1',
    '/meshward.demo.v1.Echo/Unary#frag',
    '/meshward.demo.v1.Echo/',
    '/meshward.demo.v1.Echo',
    '/',
    '*',
    'meshward.demo.v1.Echo/Unary',
    '/meshward.demo.v1.Echo/Unary/extra',
  ];
  for (const path of variants) {
    test(JSON.stringify(path), async () => {
      const before = app.calls.length;
      const r = await rawRequest(sidecar.inbound, mtls, { path, body });
      // Either a gRPC refusal (7) or a reset/HTTP error — never the app's answer.
      if (r.status === 200) assert.equal(r.headers['grpc-status'], '7', JSON.stringify(r.headers));
      else assert.ok(r.status === undefined || r.status >= 400, `status ${r.status}`);
      assert.equal(app.calls.length, before, 'the app saw nothing');
    });
  }

  test('the canonical path itself does reach the app (the check above can fail)', async () => {
    const before = app.calls.length;
    const r = await rawRequest(sidecar.inbound, mtls, { path: valid, body: grpcFrame(Buffer.from([0x0a, 0x01, 0x61])) });
    assert.equal(r.status, 200);
    assert.equal(r.trailers['grpc-status'], '0');
    assert.equal(app.calls.length, before + 1);
  });
});

describe('requests that are not gRPC', () => {
  test('a non-gRPC content-type on a gRPC path → HTTP 415, not forwarded', async () => {
    for (const contentType of ['application/json', 'text/plain', 'application/grpc-web', null]) {
      const before = app.calls.length;
      const r = await rawRequest(sidecar.inbound, mtls, { path: methodPaths.unary, contentType, body: '{}' });
      assert.equal(r.status, 415, String(contentType));
      assert.equal(app.calls.length, before);
    }
  });

  test('GET on a gRPC path is refused and not forwarded', async () => {
    const before = app.calls.length;
    const r = await rawRequest(sidecar.inbound, mtls, { path: methodPaths.unary, method: 'GET', body: undefined });
    assert.ok(r.status === 415 || r.status === 405, `status ${r.status}`);
    assert.equal(app.calls.length, before);
  });
});

describe('connection-level abuse', () => {
  test('rapid reset: HEADERS+RST_STREAM pairs never fan out to the app, and the connection is sent GOAWAY', async () => {
    const before = app.calls.length;
    const r = await rawRapidReset(sidecar.inbound, mtls, 1000);
    const reached = app.calls.length - before;
    assert.ok(reached <= 5, `${reached} of 1000 reset streams reached the app`);
    assert.ok(r.goawayCode !== undefined || r.closed, JSON.stringify(r));
    const ok = await unary(echoClient(sidecar.inbound, mtls, { servername: 'x' }), { message: 'still alive' });
    assert.equal(ok.status, 0, ok.details);
  });

  test('a client that opens and cancels streams at its own pace stays bounded by the reset budget', async () => {
    const r = await rapidReset(sidecar.inbound, mtls, 400, { timeoutMs: 8000 });
    assert.ok(r.sent > 0);
    const ok = await unary(echoClient(sidecar.inbound, mtls, { servername: 'x' }), { message: 'still alive' });
    assert.equal(ok.status, 0, ok.details);
  });

  test('a header list over the limit is refused, not forwarded', async () => {
    const before = app.calls.length;
    const headers: Record<string, string> = {};
    for (let i = 0; i < 120; i++) headers[`x-h-${i}`] = 'v';
    // Too many fields: nghttp2 resets the stream (ENHANCE_YOUR_CALM).
    const many = await rawRequest(sidecar.inbound, mtls, { path: methodPaths.unary, headers, body });
    assert.equal(many.rstCode, 11, JSON.stringify(many));
    // Too many bytes: nghttp2 resets it once our SETTINGS are acknowledged; before that,
    // meshward's own check answers 8 (unit-tested in grpc-request-filter.test.ts).
    const big = await rawRequest(sidecar.inbound, mtls, { path: methodPaths.unary, headers: { 'x-big': 'a'.repeat(40_000) }, body });
    assert.ok(big.headers['grpc-status'] === '8' || big.rstCode === 11 || big.status === undefined, JSON.stringify(big));
    assert.notEqual(big.trailers['grpc-status'], '0');
    assert.equal(app.calls.length, before);
  });

  test('garbage bytes and half-open connections do not hurt the sidecar', async () => {
    const { host, port } = splitHostPort(sidecar.inbound);
    for (const junk of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(4096, 0x16), Buffer.from([0x16, 3, 1, 0xff, 0xff, 1, 2, 3])]) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, host, () => s.end(junk));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.setTimeout(3000, () => s.destroy());
      });
    }
    const ok = await unary(echoClient(sidecar.inbound, mtls, { servername: 'x' }), { message: 'still alive' });
    assert.equal(ok.status, 0, ok.details);
    assert.equal(sidecar.proc.exitCode, null);
  });
});

describe('deadline cap', () => {
  test('inbound.maxTimeout bounds a call that asks for no deadline', async () => {
    const before = app.calls.length;
    const started = Date.now();
    const r = await unary(echoClient(sidecar.inbound, mtls, { servername: 'x' }), { message: 'slow', sleepMs: 5000 }, { deadlineMs: Infinity });
    assert.equal(r.status, 4, r.details);
    assert.ok(Date.now() - started < 3000);
    const seen = app.calls.slice(before).find((c) => c.method === methodPaths.unary);
    assert.ok(parseInt(String(seen?.headers['grpc-timeout']), 10) <= 400, String(seen?.headers['grpc-timeout']));
  });
});

describe('startup', () => {
  test('a bad config exits 2 with file:line:col and the path', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'apiVersion: meshward.dev/v1alpha1\nkind: Sidecar\nidentity:\n  trustDomain: cluster.local\n  certFile: a\n  keyFile: b\n  caFile: c\ninbound:\n  app: 127.0.0.1:1\n  mtls: strick\n');
    const r = await runMeshward(['run', '--config', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml:10:9: \/inbound\/mtls: /);
  });

  test('unreadable certificate files exit 1 with the file named', async () => {
    const config = await writeSidecarConfig(dir, { appPort: app.port, pki, fileName: 'nocert.yaml' });
    await writeFile(config, (await import('node:fs')).readFileSync(config, 'utf8').replace(pki.server.certFile, join(dir, 'missing.crt')));
    const r = await runMeshward(['run', '--config', config]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /missing\.crt/);
  });

  test('a missing --config is a usage error (exit 2)', async () => {
    assert.equal((await runMeshward(['run'])).code, 2);
    assert.equal((await runMeshward(['frobnicate'])).code, 2);
  });
});
