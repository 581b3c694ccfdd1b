import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createDevCa, issueWorkloadCert, type PemPair } from './dev-ca.js';
import { IdentityStore } from './identity-store.js';

const ID = 'spiffe://cluster.local/ns/shop/sa/orders';
let dir: string;
let ca: PemPair;
const files = () => ({ trustDomain: 'cluster.local', certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), caFile: join(dir, 'ca.crt') });

async function write(pair: PemPair, caPem = ca.certPem): Promise<void> {
  await writeFile(join(dir, 'tls.crt'), pair.certPem);
  await writeFile(join(dir, 'tls.key'), pair.keyPem);
  await writeFile(join(dir, 'ca.crt'), caPem);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-idstore-'));
  ca = await createDevCa({ trustDomain: 'cluster.local' });
  await write(await issueWorkloadCert({ ca, spiffeId: ID }));
});
after(() => rm(dir, { recursive: true, force: true }));

test('a new valid certificate is published to listeners; the same files again are unchanged', async () => {
  const store = new IdentityStore(files());
  const seen: string[] = [];
  store.onRotate((id) => seen.push(id.certPem));
  assert.equal(store.reload(), 'unchanged');
  const next = await issueWorkloadCert({ ca, spiffeId: ID });
  await write(next);
  assert.equal(store.reload(), 'rotated');
  assert.equal(store.current.certPem, next.certPem);
  assert.deepEqual(seen, [next.certPem]);
});

test('bad sets are rejected and the current identity stays', async () => {
  const store = new IdentityStore(files());
  const current = store.current;
  const other = await issueWorkloadCert({ ca, spiffeId: ID });
  const otherCa = await createDevCa({ trustDomain: 'cluster.local' });
  const cases: Array<[string, () => Promise<void>]> = [
    ['key of another certificate', () => writeFile(join(dir, 'tls.key'), other.keyPem)],
    ['issued by a CA not in the bundle', async () => write(await issueWorkloadCert({ ca: otherCa, spiffeId: ID }))],
    ['another trust domain', async () => write(await issueWorkloadCert({ ca, spiffeId: 'spiffe://evil.local/ns/shop/sa/orders' }))],
    ['expired', async () => write(await issueWorkloadCert({ ca, spiffeId: ID, notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) }))],
    ['not a certificate', () => writeFile(join(dir, 'tls.crt'), 'garbage')],
  ];
  for (const [name, breakIt] of cases) {
    await breakIt();
    assert.equal(store.reload(), 'rejected', name);
    assert.equal(store.current, current, name);
  }
  await write(other);
  assert.equal(store.reload(), 'rotated');
});

test('a bundle with the old and the new CA accepts leaves of either', async () => {
  const newCa = await createDevCa({ trustDomain: 'cluster.local' });
  await write(await issueWorkloadCert({ ca: newCa, spiffeId: ID }), ca.certPem + newCa.certPem);
  const store = new IdentityStore(files());
  assert.equal(store.current.spiffeId, ID);
  await write(await issueWorkloadCert({ ca, spiffeId: ID }), ca.certPem + newCa.certPem);
  assert.equal(store.reload(), 'rotated');
});
