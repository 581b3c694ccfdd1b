// dev-ca output checked with node:crypto's X509Certificate (an independent parser).

import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import { createDevCa, issueWorkloadCert, type PemPair } from './dev-ca.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const HOUR = 3_600_000;

let caPair: PemPair;
let ca: X509Certificate;

before(async () => {
  caPair = await createDevCa({ trustDomain: 'cluster.local', validDays: 30 });
  ca = new X509Certificate(caPair.certPem);
});

test('CA: self-signed, cA flag, trust-domain URI SAN, PKCS#8 key that matches', () => {
  assert.equal(ca.ca, true);
  assert.ok(ca.checkIssued(ca));
  assert.ok(ca.verify(ca.publicKey));
  assert.equal(ca.subjectAltName, 'URI:spiffe://cluster.local');
  assert.match(caPair.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  const key = createPrivateKey(caPair.keyPem);
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(ca.checkPrivateKey(key));
  const days = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / (24 * HOUR);
  assert.ok(days >= 30 && days < 30.01, `CA lifetime ${days} days`);
});

test('createDevCa rejects a bad trust domain', async () => {
  await assert.rejects(createDevCa({ trustDomain: 'Cluster.Local' }), /invalid trust domain/);
  await assert.rejects(createDevCa({ trustDomain: 'td/path' }), /invalid trust domain/);
});

test('leaf: issued and signed by the CA, not a CA, serverAuth+clientAuth, one URI SAN', async () => {
  const before = Date.now();
  const pair = await issueWorkloadCert({ ca: caPair, spiffeId: 'spiffe://cluster.local/ns/a/sa/b' });
  const leaf = new X509Certificate(pair.certPem);
  assert.equal(leaf.ca, false);
  assert.ok(leaf.checkIssued(ca));
  assert.ok(leaf.verify(ca.publicKey));
  assert.equal(leaf.verify(leaf.publicKey), false);
  assert.deepEqual([...(leaf.keyUsage ?? [])].sort(), [SERVER_AUTH, CLIENT_AUTH]);
  assert.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/a/sa/b');
  assert.ok(leaf.checkPrivateKey(createPrivateKey(pair.keyPem)));
  assert.match(pair.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  // Default 24 h, valid now (X509Certificate dates have one-second resolution).
  const from = Date.parse(leaf.validFrom);
  const to = Date.parse(leaf.validTo);
  assert.ok(from <= before, 'notBefore is not in the future');
  assert.ok(Math.abs(to - (before + 24 * HOUR)) < 10_000, `notAfter ${leaf.validTo}`);
});

test('leaf: random serials, explicit validity window, extra DNS names, URI override', async () => {
  const notBefore = new Date('2020-01-01T00:00:00Z');
  const notAfter = new Date('2020-01-02T00:00:00Z');
  const a = new X509Certificate((await issueWorkloadCert({ ca: caPair, spiffeId: 'spiffe://cluster.local/x', notBefore, notAfter })).certPem);
  assert.equal(Date.parse(a.validFrom), notBefore.getTime());
  assert.equal(Date.parse(a.validTo), notAfter.getTime());

  const b = new X509Certificate((await issueWorkloadCert({ ca: caPair, spiffeId: 'spiffe://cluster.local/x', dnsNames: ['x.svc'] })).certPem);
  assert.notEqual(a.serialNumber, b.serialNumber);
  assert.equal(b.subjectAltName, 'URI:spiffe://cluster.local/x, DNS:x.svc');

  const none = new X509Certificate((await issueWorkloadCert({ ca: caPair, uris: [] })).certPem);
  assert.equal(none.subjectAltName, undefined);
  const two = new X509Certificate((await issueWorkloadCert({ ca: caPair, uris: ['spiffe://cluster.local/a', 'spiffe://cluster.local/b'] })).certPem);
  assert.equal(two.subjectAltName, 'URI:spiffe://cluster.local/a, URI:spiffe://cluster.local/b');
});

test('issueWorkloadCert rejects bad input', async () => {
  await assert.rejects(issueWorkloadCert({ ca: caPair, spiffeId: 'spiffe://cluster.local/a/../b' }), /invalid SPIFFE ID/);
  await assert.rejects(issueWorkloadCert({ ca: caPair, spiffeId: 'spiffe://cluster.local' }), /no path/);
  await assert.rejects(issueWorkloadCert({ ca: caPair }), /needs spiffeId/);
  const other = await createDevCa({ trustDomain: 'cluster.local' });
  await assert.rejects(issueWorkloadCert({ ca: { certPem: caPair.certPem, keyPem: other.keyPem }, spiffeId: 'spiffe://cluster.local/a' }), /does not match/);
  const leaf = await issueWorkloadCert({ ca: caPair, spiffeId: 'spiffe://cluster.local/a' });
  await assert.rejects(issueWorkloadCert({ ca: leaf, spiffeId: 'spiffe://cluster.local/b' }), /not a CA/);
});
