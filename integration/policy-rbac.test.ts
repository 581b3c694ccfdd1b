// Per-method RBAC end to end (issue 3): the built sidecar with policy files, a real JWKS
// server, the echo app recording what it receives. Every denial is checked at the app
// (nothing arrived) and in the audit log (exactly one record, no token).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile, writeFile as writeFileInPlace } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { methodPaths } from '../demo/proto.js';
import { auditAfter, readAudit } from './support/audit-file.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { adminClient, bidi, clientStream, closeAllClients, echoClient, ping, unary } from './support/grpc-clients.js';
import { JwksServer } from './support/jwks-server.js';
import { grpcFrame, rawRequest } from './support/raw-h2.js';
import { runMeshward, startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, makePki, type Pki } from './support/tls-fixtures.js';

const OK = 0;
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;

const POLICY = `# yaml-language-server: $schema=../schema/policy.schema.json
apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: echo }
spec:
  grpc:
    - methods: ["meshward.demo.v1.Echo/Unary", "meshward.demo.v1.Echo/ServerStream"]
      allow:
        - principals: ["spiffe://cluster.local/ns/web/sa/frontend"]
    - methods: ["meshward.demo.v1.Echo/ClientStream"]
      allow: [ { principals: ["*"] } ]
      deny: [ { principals: ["spiffe://cluster.local/ns/web/*"] } ]
    - methods: ["meshward.demo.v1.Admin/Ping"]
      allow:
        - principals: ["spiffe://cluster.local/ns/web/*"]
          jwt: { provider: corp, claims: { scope: "admin:ping" } }
---
apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: shadow }
spec:
  mode: audit
  grpc:
    - methods: ["meshward.demo.v1.Echo/Bidi"]
      allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
`;

let dir: string;
let policyDir: string;
let auditFile: string;
let pki: Pki;
let app: EchoApp;
let jwks: JwksServer;
let sidecar: SidecarProcess;

const echo = () => echoClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'orders' });
const admin = () => adminClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'orders' });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ iss: jwks.origin, aud: 'orders', sub: 'alice', exp: now() + 600, scope: 'admin:ping orders:read', ...extra });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-rbac-'));
  policyDir = join(dir, 'policies');
  await mkdir(policyDir);
  await writeFile(join(policyDir, 'echo.yaml'), POLICY);
  auditFile = join(dir, 'audit.log');
  pki = await makePki(join(dir, 'pki'));
  app = await startEchoApp();
  jwks = await JwksServer.start();
  const config = await writeSidecarConfig(dir, {
    appPort: app.port,
    pki,
    extra: [
      'policies: [policies/]',
      'jwt:',
      '  providers:',
      `    - { name: corp, issuer: "${jwks.origin}", jwksUri: "${jwks.jwksUri}", audiences: [orders], algorithms: [RS256, ES256] }`,
      `audit: { file: audit.log }`,
    ].join('\n'),
  });
  sidecar = await startSidecar(config);
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await jwks?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `call` and checks it never reached the app and left exactly one audit record. */
async function expectRefused(call: () => Promise<{ status: number }>, status: number, reason: RegExp) {
  const calls = app.calls.length;
  const audits = (await readAudit(auditFile)).length;
  const r = await call();
  assert.equal(r.status, status);
  const records = await auditAfter(auditFile, audits, 1);
  assert.equal(app.calls.length, calls, 'a denied call never reaches the app');
  assert.equal(records.length, 1, `exactly one audit record: ${JSON.stringify(records)}`);
  assert.equal(records[0]!.decision, 'deny');
  assert.match(String(records[0]!.reason), reason);
  assert.equal(records[0]!.status, status);
  return records[0]!;
}

describe('per-method RBAC by SPIFFE ID', () => {
  test('an allowed principal reaches the app', async () => {
    const r = await unary(echo(), { message: 'hi' });
    assert.equal(r.status, OK, r.details);
  });

  test('a method no rule names is denied by default (7), never forwarded, audited', async () => {
    const rec = await expectRefused(() => rawRequest(sidecar.inbound, clientTls(pki, pki.client), { path: '/meshward.demo.v1.Echo/Missing', body: grpcFrame(Buffer.alloc(0)) }).then((r) => ({ status: Number(r.headers['grpc-status']) })), PERMISSION_DENIED, /^default_deny$/);
    assert.equal(rec.method, 'meshward.demo.v1.Echo/Missing');
    assert.equal(rec.principal, 'spiffe://cluster.local/ns/web/sa/frontend');
    assert.equal(rec.rule, null);
    assert.match(String(rec.policy_version), /^[0-9a-f]+$/);
    for (const key of ['time', 'trace_id', 'span_id', 'duration_ms', 'subject']) assert.ok(key in rec, key);
  });

  for (const path of ['/meshward.demo.v1.echo/Unary', '/meshward.demo.v1.Echo/unary', '/MESHWARD.demo.v1.Echo/Unary', '/meshward.demo.v1.Echo/Unary ']) {
    test(`case and spelling variants are other methods: ${JSON.stringify(path)} is denied`, async () => {
      const calls = app.calls.length;
      const r = await rawRequest(sidecar.inbound, clientTls(pki, pki.client), { path, body: grpcFrame(Buffer.alloc(0)) });
      // Denied by meshward (7), or refused by nghttp2 before it (a space is not a valid :path).
      if (r.status !== undefined) assert.equal(r.headers['grpc-status'], String(PERMISSION_DENIED));
      else assert.ok(r.rstCode !== undefined || r.error !== undefined, JSON.stringify(r));
      assert.equal(app.calls.length, calls);
    });
  }

  test('a deny entry wins over an allow entry (denied_by_rule)', async () => {
    const rec = await expectRefused(() => clientStream(echo(), [{ message: 'x' }]), PERMISSION_DENIED, /^denied_by_rule$/);
    assert.equal(rec.rule, 'echo:grpc[1]');
    assert.match(String(rec.detail), /deny/);
  });

  test('an audit-mode policy lets the call through and records audit_deny', async () => {
    const audits = (await readAudit(auditFile)).length;
    const calls = app.calls.length;
    const r = await bidi(echo(), [{ message: 'shadow' }]);
    assert.equal(r.status, OK, r.details);
    assert.ok(app.calls.length > calls, 'the call reached the app');
    const [rec] = await auditAfter(auditFile, audits, 1);
    assert.equal(rec?.decision, 'audit_deny');
    assert.equal(rec?.rule, 'shadow:grpc[0]');
  });
});

describe('JWT claims', () => {
  test('valid token with the required scope item → allowed; the app gets the token', async () => {
    const token = await jwks.sign(claims());
    const r = await ping(admin(), {}, { metadata: bearer(token) });
    assert.equal(r.status, OK, r.details);
    const es = await ping(admin(), {}, { metadata: bearer(await jwks.sign(claims(), { alg: 'ES256' })) });
    assert.equal(es.status, OK, es.details);
  });

  test('no token where the rule needs one → 16 jwt_required', async () => {
    await expectRefused(() => ping(admin()), UNAUTHENTICATED, /^jwt_required$/);
  });

  test('a valid token without the scope → 7, and the audit log names the subject, never the token', async () => {
    const token = await jwks.sign(claims({ scope: 'orders:read' }));
    const rec = await expectRefused(() => ping(admin(), {}, { metadata: bearer(token) }), PERMISSION_DENIED, /^no_allow_match$/);
    assert.equal(rec.subject, 'alice');
    assert.doesNotMatch(await readFile(auditFile, 'utf8'), new RegExp(token.split('.')[2]!.slice(0, 20)));
  });

  const attacks: Array<[string, () => Promise<string>, RegExp]> = [
    ['expired', () => jwks.sign(claims({ exp: now() - 3600 })), /^jwt_expired$/],
    ['wrong audience', () => jwks.sign(claims({ aud: 'billing' })), /^jwt_bad_audience$/],
    ['unknown issuer', () => jwks.sign(claims({ iss: 'https://evil.example' })), /^jwt_unknown_issuer$/],
    ['alg none', () => jwks.sign(claims(), { alg: 'none' }), /^jwt_/],
    ['HS256 signed with the RSA public key', () => jwks.sign(claims(), { alg: 'HS256' }), /^jwt_bad_algorithm$/],
    ['missing exp', () => jwks.sign(claims({ exp: undefined })), /^jwt_missing_exp$/],
    ['garbage', async () => 'not.a.jwt', /^jwt_malformed$/],
  ];
  for (const [name, mint, reason] of attacks) {
    test(`token ${name} → 16 UNAUTHENTICATED`, async () => {
      const token = await mint();
      await expectRefused(() => ping(admin(), {}, { metadata: bearer(token) }), UNAUTHENTICATED, reason);
    });
  }

  test('duplicate authorization headers → 16, never forwarded', async () => {
    const token = await jwks.sign(claims());
    const [host, port] = sidecar.inbound.split(':');
    const frame = join(dir, 'ping.bin');
    await writeFile(frame, grpcFrame(Buffer.alloc(0)));
    const calls = app.calls.length;
    // curl may exit 92 when meshward resets the request stream right after its answer
    // (RST_STREAM NO_ERROR: the body is not wanted); the answer's headers are on stdout either way.
    const run = promisify(execFile);
    const { stdout } = await run('curl', [
      '-sk', '--http2', '-D', '-', '-o', '/dev/null', '--max-time', '3',
      '--cert', pki.client.certFile, '--key', pki.client.keyFile,
      '-H', 'content-type: application/grpc', '-H', 'te: trailers',
      '-H', `authorization: Bearer ${token}`, '-H', `authorization: Bearer ${token}`,
      '--data-binary', `@${frame}`, `https://${host}:${port}${methodPaths.ping}`,
    ]).catch((err: { code?: number; stdout?: string }) => {
      // 92: curl saw the stream reset after the answer; 28: curl kept waiting on its upload
      // after the answer had ended the call. Either way the answer is what counts.
      if ((err.code === 92 || err.code === 28) && typeof err.stdout === 'string') return { stdout: err.stdout };
      throw err;
    });
    assert.match(stdout, /grpc-status: 16/i, stdout);
    assert.equal(app.calls.length, calls);
  });
});

describe('the policies endpoint and hot reload', () => {
  const policiesStatus = async () => (await (await fetch(`http://${sidecar.admin}/policies`)).json()) as { version: string; sources: string[]; lastError?: { problems: string[] } };

  test('/policies shows the version and the sources', async () => {
    const s = await policiesStatus();
    assert.match(s.version, /^[0-9a-f]+$/);
    assert.deepEqual(s.sources.map((f) => f.replace(/.*\//, '')), ['echo.yaml']);
  });

  test('good → bad → good under load: no allowed call fails, the bad change is rejected whole', async () => {
    const file = join(policyDir, 'echo.yaml');
    // Replaced as editors and ConfigMap updates do (rename over the file): an in-place write
    // truncates first, and a reload that reads the empty file in between publishes an empty
    // snapshot (default deny) — on a loaded machine the watcher does see that moment.
    const writeFile = async (path: string, text: string): Promise<void> => {
      await writeFileInPlace(`${path}.tmp`, text);
      await rename(`${path}.tmp`, path);
    };
    const v1 = (await policiesStatus()).version;
    let stop = false;
    const failures: number[] = [];
    let done = 0;
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop && done < 5000) {
          const r = await unary(echo(), { message: 'steady' });
          done++;
          if (r.status !== OK) failures.push(r.status);
        }
      }),
    );
    const waitVersion = async (pred: (s: Awaited<ReturnType<typeof policiesStatus>>) => boolean) => {
      for (let i = 0; i < 100; i++) {
        const s = await policiesStatus();
        if (pred(s)) return s;
        await new Promise((r) => setTimeout(r, 30));
      }
      throw new Error('policy status did not change');
    };

    // good: allow ClientStream for the frontend (drop the deny entry)
    await writeFile(file, POLICY.replace('      deny: [ { principals: ["spiffe://cluster.local/ns/web/*"] } ]\n', ''));
    const v2 = (await waitVersion((s) => s.version !== v1)).version;
    assert.equal((await clientStream(echo(), [{ message: 'now allowed' }])).status, OK);

    // bad: an unknown key — rejected whole, the previous snapshot stays
    await writeFile(file, POLICY.replace('metadata: { name: echo }', 'metadata: { name: echo }\nspecc: {}'));
    const bad = await waitVersion((s) => s.lastError !== undefined);
    assert.equal(bad.version, v2);
    assert.match(bad.lastError!.problems.join('\n'), /echo\.yaml:\d+:\d+: .*specc/);
    assert.equal((await clientStream(echo(), [{ message: 'still allowed' }])).status, OK);

    // good again: the original policy
    await writeFile(file, POLICY);
    await waitVersion((s) => s.lastError === undefined && s.version === v1);
    assert.equal((await clientStream(echo(), [{ message: 'denied again' }])).status, PERMISSION_DENIED);

    stop = true;
    await load;
    assert.ok(done >= 10, `calls made during the reloads: ${done}`);
    assert.deepEqual(failures, [], 'no allowed call failed');
  });

  test('invalid policies at startup: exit 2 with file:line:col', async () => {
    const badDir = join(dir, 'bad-policies');
    await mkdir(badDir);
    await writeFile(join(badDir, 'x.yaml'), 'apiVersion: meshward.dev/v1alpha1\nkind: Policy\nmetadata: { name: x }\nspec:\n  grpc:\n    - methods: ["not a method"]\n');
    const config = await writeSidecarConfig(dir, { appPort: app.port, pki, fileName: 'bad.yaml', extra: 'policies: [bad-policies/]' });
    const r = await runMeshward(['run', '--config', config]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /x\.yaml:6:\d+: \/spec\/grpc\/0\/methods\/0/);
  });
});
