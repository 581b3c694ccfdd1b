// Peer identity over real loopback TLS with dev-ca certificates, plus SAN-string parsing.

import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as tls from 'node:tls';
import { createDevCa, issueWorkloadCert, type PemPair } from './dev-ca.js';
import { PLAINTEXT_PEER, peerIdentityFromSocket, uriSansOf, type PeerIdentity } from './peer-identity.js';

const TD = 'cluster.local';
const CLIENT_ID = 'spiffe://cluster.local/ns/web/sa/frontend';

let ca: PemPair;
let server: tls.Server;
let pending: ((id: PeerIdentity) => void) | undefined;

before(async () => {
  ca = await createDevCa({ trustDomain: TD });
  const serverCert = await issueWorkloadCert({ ca, spiffeId: 'spiffe://cluster.local/ns/shop/sa/orders' });
  // rejectUnauthorized:false lets the handshake finish so the test can inspect what the socket says.
  server = tls.createServer({
    key: serverCert.keyPem,
    cert: serverCert.certPem,
    ca: ca.certPem,
    requestCert: true,
    rejectUnauthorized: false,
  });
  server.on('secureConnection', (socket) => {
    pending?.(peerIdentityFromSocket(socket, TD));
    pending = undefined;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

after(() => {
  server?.close();
});

/** Connects with `client` as the client certificate and returns what the server saw. */
async function identityOf(client: PemPair | undefined): Promise<PeerIdentity> {
  const seen = new Promise<PeerIdentity>((resolve) => (pending = resolve));
  const { port } = server.address() as AddressInfo;
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    ca: ca.certPem,
    ...(client ? { key: client.keyPem, cert: client.certPem } : {}),
    // SPIFFE leaves carry no DNS SAN; the server's identity is not what this test checks.
    checkServerIdentity: () => undefined,
  });
  socket.on('error', () => {}); // the server may reset after a rejected client cert
  try {
    return await seen;
  } finally {
    socket.destroy();
  }
}

function sha256Of(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}

describe('peerIdentityFromSocket', () => {
  test('valid leaf → authenticated with its SPIFFE ID', async () => {
    const leaf = await issueWorkloadCert({ ca, spiffeId: CLIENT_ID });
    const id = await identityOf(leaf);
    assert.deepEqual({ ...id }, { authenticated: true, transport: 'mtls', spiffeId: CLIENT_ID, certSha256: sha256Of(leaf.certPem) });
    assert.ok(Object.isFrozen(id));
  });

  test('client side: the server leaf verifies with rejectUnauthorized and names the server', async () => {
    const leaf = await issueWorkloadCert({ ca, spiffeId: CLIENT_ID });
    const seen = new Promise<PeerIdentity>((resolve) => (pending = resolve));
    const socket = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      ca: ca.certPem,
      key: leaf.keyPem,
      cert: leaf.certPem,
      rejectUnauthorized: true,
      checkServerIdentity: () => undefined,
    });
    socket.on('error', () => {});
    try {
      await once(socket, 'secureConnect');
      assert.equal(socket.authorized, true);
      const serverId = peerIdentityFromSocket(socket, TD);
      assert.equal(serverId.authenticated, true, serverId.error);
      assert.equal(serverId.spiffeId, 'spiffe://cluster.local/ns/shop/sa/orders');
      assert.equal((await seen).spiffeId, CLIENT_ID);
    } finally {
      socket.destroy();
    }
  });

  test('leaf without a URI SAN', async () => {
    const id = await identityOf(await issueWorkloadCert({ ca, uris: [], dnsNames: ['frontend.web.svc'] }));
    assert.equal(id.authenticated, false);
    assert.equal(id.spiffeId, undefined);
    assert.match(id.error ?? '', /exactly one URI SAN, found 0/);
    assert.ok(Object.isFrozen(id));
  });

  test('leaf with two URI SANs', async () => {
    const id = await identityOf(await issueWorkloadCert({ ca, uris: [CLIENT_ID, 'spiffe://cluster.local/ns/ops/sa/admin'] }));
    assert.equal(id.authenticated, false);
    assert.match(id.error ?? '', /exactly one URI SAN, found 2/);
  });

  test('SPIFFE ID in another trust domain', async () => {
    const id = await identityOf(await issueWorkloadCert({ ca, spiffeId: 'spiffe://evil.example/ns/web/sa/frontend' }));
    assert.equal(id.authenticated, false);
    assert.match(id.error ?? '', /trust domain "evil.example"/);
  });

  test('URI SAN that is not a SPIFFE ID', async () => {
    const id = await identityOf(await issueWorkloadCert({ ca, uris: ['https://cluster.local/ns/web'] }));
    assert.equal(id.authenticated, false);
    assert.match(id.error ?? '', /not a SPIFFE ID/);
  });

  test('trust-domain ID (no path) is not a workload', async () => {
    const id = await identityOf(await issueWorkloadCert({ ca, uris: ['spiffe://cluster.local'] }));
    assert.equal(id.authenticated, false);
    assert.match(id.error ?? '', /trust domain, not a workload/);
  });

  test('a comma inside a DNS SAN cannot smuggle a URI entry', async () => {
    const leaf = await issueWorkloadCert({ ca, uris: [], dnsNames: [`x, URI:${CLIENT_ID}, y`] });
    // Node 20 JSON-quotes the value and writes its commas as \u002c, so ", " still splits entries.
    assert.equal(new X509Certificate(leaf.certPem).subjectAltName, `DNS:"x\\u002c URI:${CLIENT_ID}\\u002c y"`);
    const id = await identityOf(leaf);
    assert.equal(id.authenticated, false);
    assert.match(id.error ?? '', /found 0/);
  });

  test('a URI SAN with a comma is quoted by Node and rejected', async () => {
    const id = await identityOf(await issueWorkloadCert({ ca, uris: [`${CLIENT_ID},x`] }));
    assert.equal(id.authenticated, false);
    assert.match(id.error ?? '', /not a SPIFFE ID/);
  });

  test('cert from another CA → not verified', async () => {
    const otherCa = await createDevCa({ trustDomain: TD });
    const leaf = await issueWorkloadCert({ ca: otherCa, spiffeId: CLIENT_ID });
    const id = await identityOf(leaf);
    assert.equal(id.authenticated, false);
    assert.equal(id.spiffeId, undefined);
    assert.match(id.error ?? '', /not verified/);
    assert.equal(id.certSha256, sha256Of(leaf.certPem)); // kept for the audit log
  });

  test('expired cert → not verified', async () => {
    const day = 86_400_000;
    const leaf = await issueWorkloadCert({
      ca,
      spiffeId: CLIENT_ID,
      notBefore: new Date(Date.now() - 2 * day),
      notAfter: new Date(Date.now() - day),
    });
    const id = await identityOf(leaf);
    assert.equal(id.authenticated, false);
    assert.match(id.error ?? '', /CERT_HAS_EXPIRED/);
  });

  test('the CA certificate itself is not a client identity', async () => {
    const id = await identityOf(ca);
    assert.equal(id.authenticated, false);
    assert.equal(id.spiffeId, undefined);
    assert.match(id.error ?? '', /INVALID_PURPOSE/); // OpenSSL: no digitalSignature/clientAuth on the CA
  });

  test('no client certificate', async () => {
    const id = await identityOf(undefined);
    assert.equal(id.authenticated, false);
    assert.equal(id.transport, 'mtls');
    assert.equal(id.certSha256, undefined);
    assert.equal(id.error, 'no peer certificate');
  });
});

test('PLAINTEXT_PEER is frozen and unauthenticated', () => {
  assert.deepEqual({ ...PLAINTEXT_PEER }, { authenticated: false, transport: 'plaintext', error: 'plaintext connection' });
  assert.ok(Object.isFrozen(PLAINTEXT_PEER));
});

describe('uriSansOf', () => {
  const cases: Array<[input: string | undefined, expected: string[]]> = [
    [undefined, []],
    ['', []],
    ['DNS:a', []],
    ['DNS:a, URI:spiffe://x/y', ['spiffe://x/y']],
    ['URI:spiffe://td/a, URI:spiffe://td/b', ['spiffe://td/a', 'spiffe://td/b']],
    ['IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, URI:spiffe://td/a, email:a@b.c', ['spiffe://td/a']],
    ['X400Name:<unsupported>, URI:spiffe://td/a', ['spiffe://td/a']],
    // Node >= 17.3.1 JSON-quotes values with special characters.
    ['URI:"spiffe://a/b\\u002cc"', ['spiffe://a/b,c']],
    ['URI:"spiffe://a/b,c"', ['spiffe://a/b,c']],
    ['DNS:"x\\u002c URI:spiffe://td/evil\\u002c y"', []],
    ['DNS:"x, URI:spiffe://td/evil, y"', []],
    ['DNS:"it\'s", URI:spiffe://td/a', ['spiffe://td/a']],
    ['DNS:"a\\"b", URI:spiffe://td/a', ['spiffe://td/a']],
    // Malformed in any way → nothing.
    ['URI:"spiffe://td/a', []],
    ['URI:"spiffe://td/a"x', []],
    ['URI:"bad \\x escape"', []],
    ['URI:spiffe://td/a, ', []],
    ['URI:spiffe://td/a,URI:spiffe://td/b', []],
    ['URI:spiffe://td/a,, URI:spiffe://td/b', []],
    ['URI:spiffe://td/"a"', []],
    [', URI:spiffe://td/a', []],
    ['garbage', []],
    ['URI spiffe://td/a', []],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => {
      assert.deepEqual(uriSansOf(input), expected);
    });
  }
});
