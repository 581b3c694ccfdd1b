// /tap with `workers: 2` (DESIGN §12 with README "Workers"): the primary serves /tap while its
// workers see the calls; each worker relays its calls to the primary while anyone subscribes.
// Calls over several connections (both workers) all reach a subscriber; /refusals merges the
// workers' refusals. The admin listener is off loopback here: the primary serves mTLS with the
// workload identity (it loads the certificates itself).

import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { startCli } from './support/cli-process.js';
import { issueSvid, serverId, type Svid } from './support/tls-fixtures.js';
import { ALLOWED_METHOD, DENIED_METHOD, startTrafficFixture, type TrafficFixture } from './support/traffic-fixture.js';

const OPS = 'spiffe://cluster.local/ns/ops/sa/oncall';
let t: TrafficFixture;
let ops: Svid;
let adminUrl: string;

before(async () => {
  t = await startTrafficFixture('tap-workers', { extra: 'workers: 2', adminListen: '0.0.0.0:0', adminAllow: ['spiffe://cluster.local/ns/ops/*'] });
  ops = await issueSvid(t.pki.dir, 'ops', { certPem: t.pki.ca.certPem, keyPem: t.pki.ca.keyPem }, { spiffeId: OPS });
  adminUrl = `https://127.0.0.1:${t.sidecar.adminPort}`;
});
after(async () => {
  await t?.close();
});

function text(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${adminUrl}${path}`, { ca: t.pki.ca.certPem, cert: ops.certPem, key: ops.keyPem, checkServerIdentity: () => undefined, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}
const json = async (path: string): Promise<any> => JSON.parse(await text(path));
const tls = () => ['--cert', ops.certFile, '--key', ops.keyFile, '--ca', t.pki.ca.certFile, '--server-id', serverId()];

test('every call of both workers reaches a subscriber of the primary', async () => {
  const before = (await json('/workers')) as Array<{ calls: number }>;
  const tap = startCli(['tap', '--admin', adminUrl, ...tls(), '--json', '--count', '10']);
  await tap.waitForLine('stderr', /^tapping /);
  await t.drive({ allowed: 8, connections: 8 });
  await t.drive({ denied: 2 });
  assert.equal(await tap.exited(), 0);
  const events = tap.stdout.map((l) => JSON.parse(l) as { method: string; decision: string });
  assert.equal(events.filter((e) => e.method === ALLOWED_METHOD && e.decision === 'allow').length, 8);
  assert.equal(events.filter((e) => e.method === DENIED_METHOD && e.decision === 'deny').length, 2);
  const after = (await json('/workers')) as Array<{ calls: number }>;
  assert.ok(after.every((w, i) => w.calls > (before[i]?.calls ?? 0)), `both workers served calls: ${JSON.stringify(after)}`);
});

test('/refusals and /overview come from the workers; subscribers are counted by the primary', async () => {
  const refusals = (await json('/refusals')) as Array<{ method: string; time: string }>;
  assert.ok(refusals.length >= 2);
  assert.equal(refusals[0]!.method, DENIED_METHOD);
  const times = refusals.map((r) => r.time);
  assert.deepEqual(times, [...times].sort().reverse());
  const overview = await json('/overview');
  assert.equal(overview.workers, 2);
  assert.equal(overview.tap.subscribers, 0);
  assert.equal(overview.admin.mtlsRequired, true);
  const metrics = await text('/metrics');
  assert.match(metrics, /^meshward_tap_subscribers 0$/m);
});
