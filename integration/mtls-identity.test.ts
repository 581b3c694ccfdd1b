// Workload identity at the inbound listener: who may complete the handshake (strict mTLS
// against the trust bundle), which verified certificates still carry no usable SPIFFE ID
// (16 UNAUTHENTICATED), default deny, and plaintext callers in permissive mode.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { closeAllClients, echoClient, unary } from './support/grpc-clients.js';
import { splitHostPort } from './support/ports.js';
import { rawRequest, tlsProbe } from './support/raw-h2.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, makePki, serverId, type Pki } from './support/tls-fixtures.js';

const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;

let dir: string;
let pki: Pki;
let app: EchoApp;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-mtls-'));
  pki = await makePki(join(dir, 'pki'));
  app = await startEchoApp();
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

async function sidecarWith(name: string, opts: { mtls?: 'strict' | 'permissive'; allowAnyAuthenticated?: boolean }): Promise<SidecarProcess> {
  const config = await writeSidecarConfig(dir, { appPort: app.port, pki, fileName: `${name}.yaml`, ...opts });
  return startSidecar(config);
}

function callsSince(n: number) {
  return app.calls.slice(n).filter((c) => c.unhandled === undefined);
}

describe('strict mTLS', () => {
  let sidecar: SidecarProcess;
  before(async () => {
    sidecar = await sidecarWith('strict', { allowAnyAuthenticated: true });
  });

  test('a client certificate from the trust bundle completes the handshake over h2', async () => {
    const probe = await tlsProbe(sidecar.inbound, clientTls(pki, pki.client));
    assert.equal(probe.accepted, true, probe.error);
    assert.equal(probe.alpn, 'h2');
    assert.deepEqual(probe.serverUris, [serverId()]);
  });

  for (const [name, svid] of [
    ['no client certificate', undefined],
    ['a certificate from another CA', 'otherCaClient'],
    ['an expired certificate', 'expiredClient'],
  ] as const) {
    test(`${name}: the handshake is refused and the app sees nothing`, async () => {
      const before = app.calls.length;
      const probe = await tlsProbe(sidecar.inbound, clientTls(pki, svid && pki[svid]));
      assert.equal(probe.accepted, false);
      const r = await unary(echoClient(sidecar.inbound, clientTls(pki, svid && pki[svid]), { servername: 'x' }), { message: 'hi' }, { deadlineMs: 3000 });
      assert.notEqual(r.status, 0);
      assert.equal(app.calls.length, before);
    });
  }

  test('TLS 1.1 is refused (TLS 1.2 minimum)', async () => {
    const { host, port } = splitHostPort(sidecar.inbound);
    const error = await new Promise<string>((resolve) => {
      const socket = tls.connect({
        host, port, ca: pki.ca.certPem, cert: pki.client.certPem, key: pki.client.keyPem,
        minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0', ALPNProtocols: ['h2'],
        checkServerIdentity: () => undefined,
      });
      socket.once('secureConnect', () => { socket.destroy(); resolve('connected'); });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(String(err.code ?? err.message)));
    });
    assert.match(error, /PROTOCOL_VERSION|VERSION/i);
  });

  for (const [name, svid] of [
    ['no URI SAN', 'noUriClient'],
    ['a SPIFFE ID of another trust domain', 'wrongTrustDomainClient'],
    ['two URI SANs', 'twoUriClient'],
  ] as const) {
    test(`a verified certificate with ${name} gets 16 UNAUTHENTICATED and never reaches the app`, async () => {
      const before = app.calls.length;
      const r = await unary(echoClient(sidecar.inbound, clientTls(pki, pki[svid]), { servername: 'x' }), { message: 'hi' });
      assert.equal(r.status, UNAUTHENTICATED, r.details);
      assert.equal(r.details, 'unauthenticated', 'the caller gets a generic message');
      assert.equal(callsSince(before).length, 0);
    });
  }
});

describe('default deny without a policy', () => {
  test('an authenticated caller is PERMISSION_DENIED unless allowAnyAuthenticated is set', async () => {
    const sidecar = await sidecarWith('deny', {});
    const before = app.calls.length;
    const r = await unary(echoClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'x' }), { message: 'hi' });
    assert.equal(r.status, PERMISSION_DENIED);
    assert.equal(app.calls.length, before, 'a denied call never reaches the app');
    await sidecar.stop();
  });
});

describe('permissive mTLS', () => {
  let sidecar: SidecarProcess;
  before(async () => {
    sidecar = await sidecarWith('permissive', { mtls: 'permissive', allowAnyAuthenticated: true });
  });

  test('mTLS callers are still authenticated', async () => {
    const r = await unary(echoClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'x' }), { message: 'tls' });
    assert.equal(r.status, 0, r.details);
  });

  test('plaintext h2c callers are accepted but unauthenticated: denied, never forwarded', async () => {
    const before = app.calls.length;
    const r = await unary(echoClient(sidecar.inbound, 'insecure'), { message: 'plain' });
    assert.equal(r.status, PERMISSION_DENIED, r.details);
    assert.equal(app.calls.length, before);
    const raw = await rawRequest(sidecar.inbound, 'plaintext', { path: '/meshward.demo.v1.Echo/Unary', body: Buffer.alloc(5) });
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['grpc-status'], String(PERMISSION_DENIED));
  });

  test('a TLS caller with a bad certificate is still refused in permissive mode', async () => {
    const probe = await tlsProbe(sidecar.inbound, clientTls(pki, pki.otherCaClient));
    assert.equal(probe.accepted, false);
  });
});
