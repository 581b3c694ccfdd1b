// The API catalog end to end (issue 16, DESIGN §8, §13): built sidecars with `catalog.protos`,
// the echo app recording what it receives, the audit log, GET /catalog and /metrics, the
// `meshward catalog` merge of two sidecars with --fail-on, the state file across a restart,
// workers, and `meshward policy suggest` → lint → enforce.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CronJob } from 'kubernetes-models/batch/v1';
import { readFile, mkdir, mkdtemp, rm, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { methodPaths } from '../demo/proto.js';
import { repoRoot } from '../demo/repo-root.js';
import { auditAfter, readAudit } from './support/audit-file.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { adminClient, bidi, closeAllClients, echoClient, ping, serverStream, unary, type ClientCreds } from './support/grpc-clients.js';
import { chartDir, helm, helmTemplate } from './support/helm.js';
import { runMeshward, startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, issueSvid, makePki, type Pki, type Svid } from './support/tls-fixtures.js';

const OK = 0;
const PERMISSION_DENIED = 7;
const UNIMPLEMENTED = 12;
const FRONTEND = 'spiffe://cluster.local/ns/web/sa/frontend';
const CRON = 'spiffe://cluster.local/ns/ops/sa/cron';

let dir: string;
let pki: Pki;
let cron: Svid;
let app: EchoApp;
let catalogProto: string;

/**
 * The demo services as a team declared them: Echo without Bidi (so Bidi is a shadow API), with
 * ServerStream deprecated; the whole Admin service deprecated.
 */
async function writeCatalogProto(): Promise<string> {
  const demo = await readFile(join(repoRoot, 'proto', 'demo.proto'), 'utf8');
  const text = demo
    .replace(/service Echo \{[^}]*\}/, [
      'service Echo {',
      '  rpc Unary(EchoRequest) returns (EchoReply);',
      '  rpc ServerStream(StreamRequest) returns (stream EchoReply) { option deprecated = true; }',
      '  rpc ClientStream(stream EchoRequest) returns (EchoReply);',
      '}',
    ].join('\n'))
    .replace(/service Admin \{[^}]*\}/, 'service Admin {\n  option deprecated = true;\n  rpc Ping(PingRequest) returns (PingReply);\n}')
    .replace(/service Orders \{[^}]*\}/, ''); // the message-validation demo service: not part of these tests
  assert.doesNotMatch(text, /rpc Bidi|service Orders/);
  const file = join(dir, 'declared', 'demo.proto');
  await mkdir(join(dir, 'declared'), { recursive: true });
  await writeFile(file, text);
  return file;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-catalog-'));
  pki = await makePki(join(dir, 'pki'));
  cron = await issueSvid(pki.dir, 'cron', pki.ca, { spiffeId: CRON });
  app = await startEchoApp();
  catalogProto = await writeCatalogProto();
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

const creds = (svid: Svid = pki.client): ClientCreds => clientTls(pki, svid);
const echo = (s: SidecarProcess, svid?: Svid) => echoClient(s.inbound, creds(svid), { servername: 'orders' });
const admin = (s: SidecarProcess, svid?: Svid) => adminClient(s.inbound, creds(svid), { servername: 'orders' });
const reached = (path: string) => app.calls.filter((c) => c.method === path).length;

interface View {
  declared: Array<{ name: string; protocol: string; deprecated: boolean }>;
  observed: Array<{ name: string; status: string; calls: number; refused: number; refusedUndeclared: number; callers: Array<{ principal: string; calls: number; peakPerSecond: number }> }>;
  shadow: Array<{ name: string; calls: number; refusedUndeclared: number; callers: string[] }>;
  zombie: Array<{ name: string; lastSeen: string | null }>;
  deprecatedInUse: Array<{ name: string; calls: number; callers: string[] }>;
  observedSince: string;
  sources: Array<{ undeclared: string; stateFile: boolean }>;
}

async function getJson<T>(s: SidecarProcess, path: string): Promise<T> {
  const res = await fetch(`http://${s.admin}${path}`);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return (await res.json()) as T;
}
const catalogOf = (s: SidecarProcess) => getJson<View>(s, '/catalog');
const names = (list: Array<{ name: string }>) => list.map((e) => e.name).sort();

/** A sidecar over the declared demo services; `extra` YAML is appended. */
async function sidecarWith(name: string, catalog: string, extra = ''): Promise<SidecarProcess> {
  const config = await writeSidecarConfig(dir, {
    appPort: app.port,
    pki,
    allowAnyAuthenticated: true,
    fileName: `${name}.yaml`,
    extra: `catalog: { protos: [${JSON.stringify(catalogProto)}], ${catalog} }\naudit: { file: ${name}-audit.log }\n${extra}`,
  });
  return startSidecar(config);
}

describe('declarations at startup', () => {
  test('invalid catalog.protos: exit 2 naming file and line', async () => {
    await writeFile(join(dir, 'bad.proto'), 'syntax = "proto3";\nmessage M {\n  Nope x = 1;\n}\n');
    const config = await writeSidecarConfig(dir, { appPort: app.port, pki, fileName: 'bad.yaml', extra: 'catalog: { protos: [bad.proto] }' });
    const sidecar = await startSidecar(config, { expectFailure: true });
    assert.equal(await sidecar.waitForExit(), 2);
    assert.match(sidecar.stderrLines.join('\n'), /bad\.proto:3: field M\.x: unknown type "Nope"/);
  });
});

describe('undeclared: deny (the default), /catalog, metrics, state file', () => {
  let deny: SidecarProcess;
  let second: SidecarProcess;
  const stateFile = () => join(dir, 'state', 'deny.json');

  before(async () => {
    deny = await sidecarWith('deny', `stateFile: state/deny.json`);
  });

  test('a declared call is forwarded; an undeclared one gets 12, never reaches the app, and is audited', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await unary(echo(deny), { message: 'hi' })).status, OK);
    assert.equal((await serverStream(echo(deny), { count: 2 })).status, OK);

    const audits = (await readAudit(join(dir, 'deny-audit.log'))).length;
    const before = reached(methodPaths.bidi);
    const r = await bidi(echo(deny, cron), [{ message: 'x' }]);
    assert.equal(r.status, UNIMPLEMENTED, r.details);
    assert.equal(reached(methodPaths.bidi), before, 'an undeclared method never reaches the app');
    const [record, ...more] = await auditAfter(join(dir, 'deny-audit.log'), audits, 1);
    assert.deepEqual(more, []);
    assert.deepEqual([record!.decision, record!.reason, record!.status, record!.method, record!.principal], ['deny', 'undeclared_method', UNIMPLEMENTED, 'meshward.demo.v1.Echo/Bidi', CRON]);
    const config = await getJson<{ relaxedDefaults: string[] }>(deny, '/config');
    assert.equal(config.relaxedDefaults.filter((r) => r.startsWith('catalog')).length, 0, 'deny is not a relaxed default');
  });

  test('/catalog: shadow, zombie, deprecated in use; meshward_api_calls_total', async () => {
    const v = await catalogOf(deny);
    assert.deepEqual(names(v.declared), ['meshward.demo.v1.Admin/Ping', 'meshward.demo.v1.Echo/ClientStream', 'meshward.demo.v1.Echo/ServerStream', 'meshward.demo.v1.Echo/Unary']);
    const unaryEntry = v.observed.find((o) => o.name === 'meshward.demo.v1.Echo/Unary')!;
    assert.deepEqual([unaryEntry.status, unaryEntry.calls, unaryEntry.callers.map((c) => [c.principal, c.calls])], ['declared', 3, [[FRONTEND, 3]]]);
    assert.deepEqual(v.shadow.map((s) => [s.name, s.calls, s.refusedUndeclared, s.callers]), [['meshward.demo.v1.Echo/Bidi', 1, 1, [CRON]]]);
    assert.deepEqual(names(v.zombie), ['meshward.demo.v1.Admin/Ping', 'meshward.demo.v1.Echo/ClientStream']);
    assert.deepEqual(v.deprecatedInUse.map((d) => [d.name, d.calls, d.callers]), [['meshward.demo.v1.Echo/ServerStream', 1, [FRONTEND]]]);

    const metrics = await (await fetch(`http://${deny.admin}/metrics`)).text();
    assert.match(metrics, /^meshward_api_calls_total\{method="meshward\.demo\.v1\.Echo\/Unary",status="declared"\} 3$/m);
    assert.match(metrics, /^meshward_api_calls_total\{method="meshward\.demo\.v1\.Echo\/ServerStream",status="deprecated"\} 1$/m);
    assert.match(metrics, /^meshward_api_calls_total\{method="_OTHER",status="undeclared"\} 1$/m);
    assert.doesNotMatch(metrics, /api_calls_total\{method="meshward\.demo\.v1\.Echo\/Bidi"/);
  });

  test('undeclared: audit forwards and records audit_deny; allow only counts', async () => {
    const audit = await sidecarWith('audit', 'undeclared: audit');
    await audit.waitForStderr((l) => l.includes('INSECURE DEFAULT RELAXED') && l.includes('catalog.undeclared: audit'));
    const relaxed = (await getJson<{ relaxedDefaults: string[] }>(audit, '/config')).relaxedDefaults;
    assert.ok(relaxed.some((r) => r.startsWith('catalog.undeclared: audit')), JSON.stringify(relaxed));
    const before = reached(methodPaths.bidi);
    const audits = (await readAudit(join(dir, 'audit-audit.log'))).length;
    assert.equal((await bidi(echo(audit), [{ message: 'x' }])).status, OK);
    assert.equal(reached(methodPaths.bidi), before + 1, 'audit forwards');
    const records = await auditAfter(join(dir, 'audit-audit.log'), audits, 1);
    assert.deepEqual(records.map((r) => [r.decision, r.reason, r.method]), [['audit_deny', 'undeclared_method', 'meshward.demo.v1.Echo/Bidi']]);
    // The deprecated Admin service is used here, so the merged view has no zombie Ping.
    assert.equal((await ping(admin(audit, cron), { message: 'p' })).status, OK);
    second = audit;

    const allow = await sidecarWith('allow', 'undeclared: allow');
    const relaxedAllow = (await getJson<{ relaxedDefaults: string[] }>(allow, '/config')).relaxedDefaults;
    assert.ok(relaxedAllow.some((r) => r.startsWith('catalog.undeclared: allow')));
    const allowAudits = (await readAudit(join(dir, 'allow-audit.log'))).length;
    assert.equal((await bidi(echo(allow), [{ message: 'x' }])).status, OK);
    assert.equal(reached(methodPaths.bidi), before + 2, 'allow forwards');
    const v = await catalogOf(allow);
    assert.deepEqual(v.shadow.map((s) => [s.name, s.calls, s.refusedUndeclared]), [['meshward.demo.v1.Echo/Bidi', 1, 0]]);
    assert.deepEqual(await auditAfter(join(dir, 'allow-audit.log'), allowAudits, 0), [], 'allow writes no audit record');
    await allow.stop();
  });

  test('meshward catalog merges two sidecars; --fail-on exit codes; json and markdown', async () => {
    const args = ['catalog', '--admin', `http://${deny.admin}`, '--admin', second.admin];
    const table = await runMeshward(args);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /Shadow APIs \(observed, not declared\): 1\n.*\n\s+grpc\s+meshward\.demo\.v1\.Echo\/Bidi\s+2\s+1\s/);
    assert.match(table.stdout, /Zombie APIs \(declared, not called\): 1\n.*\n\s+grpc\s+meshward\.demo\.v1\.Echo\/ClientStream/);

    const json = await runMeshward([...args, '--format', 'json']);
    const merged = JSON.parse(json.stdout) as View;
    assert.equal(merged.sources.length, 2);
    assert.deepEqual(names(merged.zombie), ['meshward.demo.v1.Echo/ClientStream'], 'Ping was called at the second sidecar');
    assert.deepEqual(names(merged.deprecatedInUse), ['meshward.demo.v1.Admin/Ping', 'meshward.demo.v1.Echo/ServerStream']);
    assert.deepEqual(merged.shadow.map((s) => [s.name, s.calls, s.callers]), [['meshward.demo.v1.Echo/Bidi', 2, [FRONTEND, CRON].sort()]]);

    const md = await runMeshward([...args, '--format', 'markdown']);
    assert.match(md.stdout, /^# API catalog$/m);
    assert.match(md.stdout, /\*\*1\*\* shadow, \*\*1\*\* zombie, \*\*2\*\* deprecated in use/);

    for (const [failOn, code] of [['shadow', 1], ['zombie', 1], ['deprecated', 1], ['shadow,zombie', 1]] as const) {
      const r = await runMeshward([...args, '--fail-on', failOn, '--format', 'json']);
      assert.equal(r.code, code, `--fail-on ${failOn}: ${r.stderr}`);
      assert.match(r.stderr, /meshward catalog: found /);
    }
    // A view without findings of the named kind: exit 0.
    const clean = JSON.stringify({ ...merged, shadow: [], zombie: [], deprecatedInUse: [] });
    await writeFile(join(dir, 'clean.json'), clean);
    assert.equal((await runMeshward(['catalog', '--catalog', join(dir, 'clean.json'), '--fail-on', 'shadow,zombie,deprecated'])).code, 0);
    const unreachable = await runMeshward(['catalog', '--admin', 'http://127.0.0.1:1']);
    assert.equal(unreachable.code, 2);
    assert.match(unreachable.stderr, /cannot read http:\/\/127\.0\.0\.1:1\/catalog/);
    assert.equal((await runMeshward(['catalog', '--fail-on', 'nonsense', '--admin', deny.admin])).code, 2);
    assert.equal((await runMeshward(['catalog', '--help'])).code, 0);
    assert.equal((await runMeshward(['policy', 'suggest', '--help'])).code, 0);
  });

  test('the chart CronJob runs meshward catalog and posts the Markdown to the webhook', async () => {
    const posts: Array<{ method?: string; type?: string; body: string }> = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posts.push({ method: req.method, type: req.headers['content-type'], body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/catalog`;
    try {
      const values = join(dir, 'catalog-values.yaml');
      await writeFile(
        values,
        `catalogReport:\n  enabled: true\n  schedule: "30 6 * * *"\n  admins: ["http://${deny.admin}", "http://${second.admin}"]\n  failOn: [zombie]\n  webhook: { secretName: catalog-webhook, secretKey: url }\n`,
      );
      const lint = helm(['lint', '--strict', chartDir, '-f', values]);
      assert.equal(lint.status, 0, lint.stdout + lint.stderr);
      const job = helmTemplate('mw', 'meshward-system', ['-f', values]).find((o) => o.kind === 'CronJob');
      assert.ok(job, 'a CronJob is rendered');
      new CronJob(job as never).validate();
      assert.equal(job.spec.schedule, '30 6 * * *');
      const pod = job.spec.jobTemplate.spec.template.spec;
      assert.equal(pod.automountServiceAccountToken, false);
      const container = pod.containers[0];
      assert.deepEqual(container.env, [{ name: 'MESHWARD_CATALOG_WEBHOOK', valueFrom: { secretKeyRef: { name: 'catalog-webhook', key: 'url' } } }]);
      // Run the container's args as the image's entrypoint would, with $(VAR) expanded as the kubelet does.
      const args = (container.args as string[]).map((a) => a.replace('$(MESHWARD_CATALOG_WEBHOOK)', hookUrl));
      const run = await runMeshward(args, { timeoutMs: 30_000 });
      assert.equal(run.code, 1, `--fail-on zombie with a zombie: the Job fails\n${run.stderr}`);
      assert.equal(posts.length, 1);
      assert.deepEqual([posts[0]!.method, posts[0]!.type], ['POST', 'application/json']);
      const text = (JSON.parse(posts[0]!.body) as { text: string }).text;
      assert.match(text, /^# API catalog$/m);
      assert.match(text, /meshward\.demo\.v1\.Echo\/ClientStream/);

      const without = helm(['template', 'mw', chartDir, '--set', 'catalogReport.enabled=true']);
      assert.notEqual(without.status, 0);
      assert.match(without.stderr, /catalogReport\.enabled needs catalogReport\.admins/);
      assert.equal(helmTemplate('mw', 'meshward-system').filter((o) => o.kind === 'CronJob').length, 0, 'off by default');
    } finally {
      hook.close();
    }
  });

  test('stateFile: observations survive a restart', async () => {
    const before = await catalogOf(deny);
    assert.equal(await deny.stop(), 0);
    const saved = JSON.parse(await readFile(stateFile(), 'utf8')) as { format: string };
    assert.equal(saved.format, 'meshward.catalog-state/v1');
    deny = await sidecarWith('deny', `stateFile: state/deny.json`);
    const afterRestart = await catalogOf(deny);
    assert.equal(afterRestart.observedSince, before.observedSince);
    assert.deepEqual(
      afterRestart.observed.map((o) => [o.name, o.calls]),
      before.observed.map((o) => [o.name, o.calls]),
    );
    assert.equal((await unary(echo(deny), { message: 'again' })).status, OK);
    const unaryCalls = (await catalogOf(deny)).observed.find((o) => o.name === 'meshward.demo.v1.Echo/Unary')!.calls;
    assert.equal(unaryCalls, 4);
  });
});

describe('workers: 2', () => {
  test('/catalog of the primary sums the workers', async () => {
    const s = await sidecarWith('workers', 'undeclared: deny', 'workers: 2\n');
    const results = await Promise.all(Array.from({ length: 6 }, () => unary(echo(s), { message: 'w' })));
    assert.ok(results.every((r) => r.status === OK));
    const v = await catalogOf(s);
    assert.equal(v.observed.find((o) => o.name === 'meshward.demo.v1.Echo/Unary')?.calls, 6);
    assert.equal(v.sources.length, 1);
    await s.stop();
  });
});

describe('learn mode: policy suggest', () => {
  test('audit → suggest → lint → enforce allows exactly the observed caller/method pairs', async () => {
    const policies = join(dir, 'learn-policies');
    await mkdir(policies);
    // Audit mode: nothing is allowed, everything is recorded and goes through.
    await writeFile(join(policies, 'observe.yaml'), 'apiVersion: meshward.dev/v1alpha1\nkind: Policy\nmetadata: { name: observe }\nspec:\n  mode: audit\n  grpc:\n    - methods: ["*"]\n      allow: [ { principals: ["spiffe://cluster.local/ns/nobody/sa/nobody"] } ]\n');
    const config = await writeSidecarConfig(dir, {
      appPort: app.port,
      pki,
      fileName: 'learn.yaml',
      extra: `catalog: { protos: [${JSON.stringify(catalogProto)}] }\npolicies: [learn-policies/]\naudit: { file: learn-audit.log }\n`,
    });
    const s = await startSidecar(config);
    for (let i = 0; i < 3; i++) assert.equal((await unary(echo(s), { message: 'u' })).status, OK);
    assert.equal((await ping(admin(s, cron), { message: 'p' })).status, OK);

    const out = join(policies, 'learned.yaml.new');
    const suggested = await runMeshward(['policy', 'suggest', '--admin', s.admin, '--name', 'learned', '--out', out]);
    assert.equal(suggested.code, 0, suggested.stderr);
    const yaml = await readFile(out, 'utf8');
    assert.match(yaml, /^  mode: audit$/m);
    const lint = await runMeshward(['policy', 'lint', out]);
    assert.equal(lint.code, 0, lint.stderr);

    // Review done: enforce it instead of the observing policy.
    const versionBefore = (await getJson<{ version: string }>(s, '/policies')).version;
    await writeFile(join(policies, 'learned.yaml'), yaml.replace(/^  mode: audit$/m, '  mode: enforce'));
    await unlink(join(policies, 'observe.yaml'));
    await unlink(out);
    for (let i = 0; i < 100; i++) {
      const p = await getJson<{ version: string; sources: string[] }>(s, '/policies');
      if (p.version !== versionBefore && p.sources.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual((await getJson<{ sources: string[] }>(s, '/policies')).sources.map((f) => f.replace(/.*\//, '')), ['learned.yaml']);

    const unaryBefore = reached(methodPaths.unary);
    const pingBefore = reached(methodPaths.ping);
    assert.equal((await unary(echo(s), { message: 'u' })).status, OK, 'frontend → Unary was observed');
    assert.equal((await ping(admin(s, cron), { message: 'p' })).status, OK, 'cron → Ping was observed');
    assert.equal((await unary(echo(s, cron), { message: 'u' })).status, PERMISSION_DENIED, 'cron never called Unary');
    assert.equal((await ping(admin(s), { message: 'p' })).status, PERMISSION_DENIED, 'frontend never called Ping');
    assert.equal((await serverStream(echo(s), { count: 1 })).status, PERMISSION_DENIED, 'nobody called ServerStream');
    assert.equal(reached(methodPaths.unary), unaryBefore + 1);
    assert.equal(reached(methodPaths.ping), pingBefore + 1);
    await s.stop();
  });
});
