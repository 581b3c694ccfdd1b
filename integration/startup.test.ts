// What a new user sees at startup: errors that say which listener, key and file, and
// warnings for configs that run but would refuse everything (no policy, a JWKS that cannot
// be fetched). Real sidecar processes.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { freePort } from './support/ports.js';
import { startSidecar, stopAll } from './support/sidecar-process.js';
import { issueSvid, makePki, serverId, type Pki } from './support/tls-fixtures.js';

let dir: string;
let pki: Pki;
let squatter: Server;
let takenPort: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-startup-'));
  pki = await makePki(join(dir, 'pki'));
  squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
  takenPort = (squatter.address() as { port: number }).port;
});

after(async () => {
  await stopAll();
  squatter.close();
  await rm(dir, { recursive: true, force: true });
});

test('a port in use: exit 1 naming the listener, its config key and the address', async () => {
  for (const [which, opts] of [
    ['admin', { adminListen: `127.0.0.1:${takenPort}` }],
    ['inbound', { inboundListen: `127.0.0.1:${takenPort}` }],
  ] as const) {
    const config = await writeSidecarConfig(dir, { appPort: 9, pki, ...opts, fileName: `${which}-taken.yaml` });
    const s = await startSidecar(config, { expectFailure: true });
    assert.equal(await s.waitForExit(), 1);
    const line = await s.waitForStderr((_l, j) => j?.msg === 'startup failed');
    assert.match(line, new RegExp(`${which} listener cannot listen on 127\\.0\\.0\\.1:${takenPort} \\(${which}\\.listen\\): the address is already in use`));
  }
});

test('a key that does not belong to the certificate: the keys and files are named', async () => {
  const stranger = await issueSvid(pki.dir, 'stranger', pki.ca, { spiffeId: serverId() });
  const config = await writeSidecarConfig(dir, { appPort: 9, pki, svid: { ...pki.server, keyFile: stranger.keyFile }, fileName: 'mismatch.yaml' });
  const s = await startSidecar(config, { expectFailure: true });
  assert.equal(await s.waitForExit(), 1);
  const line = await s.waitForStderr((_l, j) => j?.msg === 'startup failed');
  assert.ok(line.includes(`identity.keyFile ${stranger.keyFile} does not match identity.certFile ${pki.server.certFile}`), line);
});

test('no policy and an unreachable JWKS: the sidecar runs, and says both at startup', async () => {
  const deadPort = await freePort();
  const config = await writeSidecarConfig(dir, {
    appPort: 9,
    pki,
    fileName: 'traps.yaml',
    extra: `jwt:
  providers:
    - { name: corp, issuer: "https://idp.example.com", jwksUri: "http://127.0.0.1:${deadPort}/jwks", audiences: [a], algorithms: [RS256] }
`,
  });
  const s = await startSidecar(config);
  const noPolicy = await s.waitForStderr((_l, j) => j?.level === 'warn' && String(j.msg).startsWith('no policy rules loaded'));
  assert.match(noPolicy, /every call is denied/);
  const jwks = await s.waitForStderr((_l, j) => j?.level === 'warn' && String(j.msg).startsWith('JWKS cannot be fetched'), 10_000);
  assert.match(jwks, /"provider":"corp"/);
  assert.equal(await s.stop(), 0);
});

test('with a policy: no warning; /config reads as written, /policies?rules=1 lists the rules', async () => {
  const policies = join(dir, 'policies');
  await import('node:fs/promises').then((fs) => fs.mkdir(policies, { recursive: true }));
  await writeFile(join(policies, 'p.yaml'), 'apiVersion: meshward.dev/v1alpha1\nkind: Policy\nmetadata: { name: p }\nspec:\n  grpc:\n    - { methods: ["a.B/C"], allow: [{ principals: ["*"] }] }\n');
  const config = await writeSidecarConfig(dir, { appPort: 9, pki, fileName: 'fine.yaml', extra: `policies: [${JSON.stringify(policies)}]\n` });
  const s = await startSidecar(config);
  // The admin output a person reads: the config with durations in units and the own identity;
  // the rules on request.
  const view = (await (await fetch(`http://${s.admin}/config`)).json()) as { config: { inbound: { limits: { idleTimeout: unknown } }; identity: { spiffeId: string }; rateLimit: unknown } };
  assert.equal(view.config.inbound.limits.idleTimeout, '5m');
  assert.equal(view.config.identity.spiffeId, 'spiffe://cluster.local/ns/shop/sa/orders');
  assert.deepEqual(view.config.rateLimit, { store: 'memory' });
  const plain = (await (await fetch(`http://${s.admin}/policies`)).json()) as Record<string, unknown>;
  assert.equal(plain['grpc'], undefined, 'rules only when asked');
  const rules = (await (await fetch(`http://${s.admin}/policies?rules=1`)).json()) as { grpc: { pattern: string; allow: { id: string; entry: unknown }[] }[] };
  assert.deepEqual(
    rules.grpc.map((r) => [r.pattern, r.allow.map((a) => [a.id, a.entry])]),
    [['a.B/C', [['p:grpc[0].allow[0]', { principals: ['*'] }]]]],
  );
  assert.equal(await s.stop(), 0);
  assert.ok(!s.stderrLines.some((l) => l.includes('no policy rules loaded') || l.includes('JWKS cannot be fetched')), s.stderrLines.join('\n'));
});
