// The admin listener off loopback (DESIGN §12): /healthz and /readyz answer anyone (plain HTTP
// as the kubelet's probes of an injected pod send them, or TLS without a certificate); every
// other endpoint needs mTLS with a SPIFFE ID in admin.allow — no certificate, an untrusted one
// or a principal not in the list is refused; the allowed principal gets /metrics, the dashboard
// and `meshward tap`.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../demo/repo-root.js';
import { startCli } from './support/cli-process.js';
import { runMeshward } from './support/sidecar-process.js';
import { issueSvid, serverId, type PemFiles } from './support/tls-fixtures.js';
import { startTrafficFixture, type TrafficFixture } from './support/traffic-fixture.js';

const OPS = 'spiffe://cluster.local/ns/ops/sa/oncall';
let t: TrafficFixture;
let ops: PemFiles;
let port: number;

before(async () => {
  t = await startTrafficFixture('admin-mtls', { adminListen: '0.0.0.0:0', adminAllow: [OPS] });
  ops = await issueSvid(t.pki.dir, 'ops', { certPem: t.pki.ca.certPem, keyPem: t.pki.ca.keyPem }, { spiffeId: OPS });
  port = t.sidecar.adminPort;
});
after(async () => {
  await t?.close();
});

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function plain(path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false }, (res) => collect(res, resolve));
    req.on('error', reject);
    req.end();
  });
}

function tls(path: string, client?: PemFiles, ca = t.pki.ca.certPem): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: false,
        ca,
        cert: client?.certPem,
        key: client?.keyPem,
        // The admin certificate is the workload SVID (a SPIFFE ID, no host name).
        checkServerIdentity: () => undefined,
      },
      (res) => collect(res, resolve),
    );
    req.on('error', reject);
    req.end();
  });
}

function collect(res: http.IncomingMessage, resolve: (a: Answer) => void): void {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (c: string) => (body += c));
  res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
}

describe('admin listener on 0.0.0.0', () => {
  test('the probes of an injected pod (plain HTTP GET) keep working; nothing else is served in plaintext', async () => {
    // What `meshward inject` gives a pod: admin on a non-loopback address, probes over HTTP.
    const out = await runMeshward(['inject', '-f', join(repoRoot, 'sidecar', 'inject', 'testdata', 'workloads.yaml')]);
    assert.equal(out.code, 0, out.stderr);
    const pod = parseAllDocuments(out.stdout).map((d) => d.toJS() as any).find((d) => d?.kind === 'Deployment').spec.template;
    const container = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c: any) => c.name === 'meshward');
    const sidecarConfig = parse(pod.metadata.annotations['meshward.dev/config']) as { admin: { listen: string } };
    assert.doesNotMatch(sidecarConfig.admin.listen, /^(127\.|localhost|\[::1\])/, 'the injected admin listener is off loopback');
    const probes = [container.startupProbe, container.readinessProbe, container.livenessProbe].map((p: any) => p.httpGet);
    for (const probe of probes) {
      assert.notEqual(probe.scheme, 'HTTPS');
      const res = await plain(probe.path);
      assert.equal(res.status, 200, `${probe.path}: ${res.body}`);
    }
    assert.deepEqual(new Set(probes.map((p: any) => p.path)), new Set(['/readyz', '/healthz']));
    for (const path of ['/metrics', '/config', '/policies', '/overview', '/refusals', '/tap', '/']) {
      const res = await plain(path);
      assert.equal(res.status, 403, path);
      assert.match(res.body, /needs mTLS/);
    }
  });

  test('TLS without a client certificate: probes yes (an HTTPS probe), the rest 401', async () => {
    assert.equal((await tls('/healthz')).status, 200);
    assert.equal((await tls('/readyz')).status, 200);
    const metrics = await tls('/metrics');
    assert.equal(metrics.status, 401);
    assert.match(metrics.body, /client certificate not accepted \(no peer certificate\)/);
  });

  test('a certificate from another CA is 401; a mesh principal not in admin.allow is 403', async () => {
    const untrusted = await tls('/metrics', t.pki.otherCaClient);
    assert.equal(untrusted.status, 401);
    assert.match(untrusted.body, /not verified/);
    const frontend = await tls('/metrics', t.pki.client);
    assert.equal(frontend.status, 403);
    assert.match(frontend.body, /spiffe:\/\/cluster\.local\/ns\/web\/sa\/frontend is not in admin\.allow/);
    assert.equal((await tls('/', t.pki.client)).status, 403);
  });

  test('the allowed principal gets every endpoint, the dashboard included', async () => {
    const metrics = await tls('/metrics', ops);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^# TYPE meshward_requests_total counter$/m);
    const overview = JSON.parse((await tls('/overview', ops)).body) as { admin: { mtlsRequired: boolean; allow: string[] }; identity: { spiffeId: string } };
    assert.deepEqual(overview.admin, { mtlsRequired: true, allow: [OPS] });
    assert.equal(overview.identity.spiffeId, serverId());
    const page = await tls('/', ops);
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-security-policy'], "default-src 'self'");
  });

  test('meshward tap over mTLS: the allowed principal follows calls; another is refused (exit 1)', async () => {
    const url = `https://127.0.0.1:${port}`;
    const files = ['--ca', t.pki.ca.certFile, '--server-id', serverId()];
    const tap = startCli(['tap', '--admin', url, '--cert', ops.certFile, '--key', ops.keyFile, ...files, '--count', '1', '--json']);
    await tap.waitForLine('stderr', /^tapping /);
    await t.drive({ denied: 1 });
    assert.equal(await tap.exited(), 0);
    assert.equal((JSON.parse(tap.stdout[0]!) as { decision: string }).decision, 'deny');

    const refused = await runMeshward(['tap', '--admin', url, '--cert', t.pki.client.certFile, '--key', t.pki.client.keyFile, ...files]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /HTTP 403: admin: spiffe:\/\/cluster\.local\/ns\/web\/sa\/frontend is not in admin\.allow/);
    const wrongServer = await runMeshward(['tap', '--admin', url, '--cert', ops.certFile, '--key', ops.keyFile, '--ca', t.pki.ca.certFile, '--server-id', 'spiffe://cluster.local/ns/x/sa/y']);
    assert.equal(wrongServer.code, 1);
    assert.match(wrongServer.stderr, /is spiffe:\/\/cluster\.local\/ns\/shop\/sa\/orders, not spiffe:\/\/cluster\.local\/ns\/x\/sa\/y/);
  });

  test('admin.allow entries are validated when the config loads', async () => {
    const text = (await readFile(join(t.dir, 'meshward.yaml'), 'utf8')).replace(JSON.stringify([OPS]), '["frontend"]');
    const bad = join(t.dir, 'bad.yaml');
    await writeFile(bad, text);
    const res = await runMeshward(['run', '--config', bad]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /admin\.allow\[0\]|\/admin\/allow\/0/);
  });
});
