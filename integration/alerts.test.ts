// Alerts end to end (issue 18, DESIGN §10): the built sidecar's detectors fire and resolve
// against a real Alertmanager (read back from its API v2) and a webhook receiver — new caller,
// deny spike, JWT failures, rate spike, certificate expiry, limit store down — with the labels
// and annotations DESIGN §10 names, a trace id the trace store received, re-sent while active,
// the webhook headers from a file (never logged), and GET /alerts on the admin listener.
// Windows are short (1 s) so each fire/resolve takes a few seconds.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { issueWorkloadCert } from '../sidecar/identity/dev-ca.js';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { startAlertmanager, type Alertmanager, type GettableAlert } from './support/alertmanager.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { adminClient, closeAllClients, echoClient, ping, unary } from './support/grpc-clients.js';
import { createSigningKey, JwksServer } from './support/jwks-server.js';
import { OtlpReceiver } from './support/otlp-receiver.js';
import { parsePromText, sumOf } from './support/prom-text.js';
import { startRedis, type RedisServer } from './support/redis-server.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, issueSvid, makePki, serverId, type Pki, type Svid } from './support/tls-fixtures.js';
import { WebhookSink, type Received } from './support/webhook-sink.js';

const UNARY = 'meshward.demo.v1.Echo/Unary';
const PING = 'meshward.demo.v1.Admin/Ping';
const BATCH = 'spiffe://cluster.local/ns/jobs/sa/batch';
const FRONTEND = 'spiffe://cluster.local/ns/web/sa/frontend';
const OPS = 'spiffe://cluster.local/ns/ops/sa/tool';
// catalog.protos for the test: Echo/Unary declared deprecated, the Admin service not declared.
const PROTO = `syntax = "proto3";
package meshward.demo.v1;
message EchoRequest { string message = 1; }
message EchoReply { string message = 1; }
service Echo {
  rpc Unary(EchoRequest) returns (EchoReply) { option deprecated = true; }
}
`;
const HOOK_TOKEN = 'Bearer hook-secret-4c1f';
const HOUR = 3_600_000;

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: alerts }
spec:
  grpc:
    - methods: ["${UNARY}"]
      allow:
        - principals: ["${FRONTEND}", "${BATCH}"]
    - methods: ["${PING}"]
      allow:
        - principals: ["spiffe://cluster.local/ns/ops/*"]
`;

let dir: string;
let pki: Pki;
let batch: Svid;
let ops: Svid;
let svid: { certFile: string; keyFile: string };
let app: EchoApp;
let jwks: JwksServer;
let otlp: OtlpReceiver;
let am: Alertmanager;
let amHook: WebhookSink;
let hook: WebhookSink;
let redis: RedisServer;
let sidecar: SidecarProcess;

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const matches = (labels: Record<string, string>, want: Record<string, string>): boolean => Object.entries(want).every(([k, v]) => labels[k] === v);

/**
 * Repeats `burst` (a batch of calls) until Alertmanager holds the alert, bounded. One burst is
 * enough on an idle machine; on a loaded one a burst can spread over several windows and stay
 * under every threshold, so it is repeated instead of asserting on timing.
 */
async function burstUntilAlert(want: Record<string, string>, burst: (round: number) => Promise<void>, timeoutMs = 30_000): Promise<GettableAlert> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    await burst(round);
    const settle = Date.now() + 2500; // a window (1 s) closes and the alert is delivered
    while (Date.now() < settle) {
      const found = (await am.alerts()).find((a) => matches(a.labels, want));
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(want)} in Alertmanager within ${timeoutMs} ms`);
  }
}

/** The alert Alertmanager holds for these labels, once it does. */
function amAlert(want: Record<string, string>): Promise<GettableAlert> {
  return until(`Alertmanager to hold ${JSON.stringify(want)}`, () => am.alerts(), (as) => as.some((a) => matches(a.labels, want))).then(
    (as) => as.find((a) => matches(a.labels, want))!,
  );
}

/** Waits until Alertmanager no longer lists the alert (it lists only unresolved ones). */
async function amResolved(want: Record<string, string>): Promise<void> {
  await until(`Alertmanager to resolve ${JSON.stringify(want)}`, () => am.alerts(), (as) => !as.some((a) => matches(a.labels, want)));
}

function hookAlert(sink: WebhookSink, status: 'firing' | 'resolved', want: Record<string, string>): Promise<Received> {
  return sink.waitFor((r) => r.body?.alerts?.some((a: any) => a.status === status && matches(a.labels, want)), `${status} ${JSON.stringify(want)}`, 15_000);
}

const alertIn = (r: Received, status: string, want: Record<string, string>): any => r.body.alerts.find((a: any) => a.status === status && matches(a.labels, want));

async function adminJson(path: string): Promise<any> {
  const res = await fetch(`http://${sidecar.admin}${path}`);
  assert.equal(res.status, 200);
  return res.json();
}

/** Checks an annotation's trace id names a span the trace store received. */
async function assertTraceKnown(traceId: string | undefined): Promise<void> {
  assert.match(traceId ?? '', /^[0-9a-f]{32}$/);
  await otlp.waitForSpans((s) => s.traceId === traceId);
}

const echo = (svidOf: Svid) => echoClient(sidecar.inbound, clientTls(pki, svidOf), { servername: 'orders' });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-alerts-'));
  pki = await makePki(join(dir, 'pki'));
  batch = await issueSvid(pki.dir, 'batch', pki.ca, { spiffeId: BATCH });
  ops = await issueSvid(pki.dir, 'ops', pki.ca, { spiffeId: OPS });
  // The sidecar's own SVID with 10% of its lifetime left: MeshwardCertificateExpiry from the start.
  const now = Date.now();
  const own = join(dir, 'svid');
  await mkdir(own);
  svid = { certFile: join(own, 'tls.crt'), keyFile: join(own, 'tls.key') };
  const short = await issueWorkloadCert({ ca: pki.ca, uris: [serverId()], notBefore: new Date(now - 9 * HOUR), notAfter: new Date(now + HOUR) });
  await writeFile(svid.keyFile, short.keyPem, { mode: 0o600 });
  await writeFile(svid.certFile, short.certPem);

  [app, jwks, otlp, amHook, hook, redis] = await Promise.all([
    startEchoApp(),
    JwksServer.start(),
    OtlpReceiver.start(),
    WebhookSink.start(),
    WebhookSink.start(),
    startRedis(),
  ]);
  am = await startAlertmanager(join(dir, 'alertmanager'), { webhookUrl: amHook.url('/am') });
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'alerts.yaml'), POLICY);
  await mkdir(join(dir, 'protos'));
  await writeFile(join(dir, 'protos', 'echo.proto'), PROTO);
  await writeFile(join(dir, 'hook-headers'), `# meshward's token at the receiver\nAuthorization: ${HOOK_TOKEN}\n`);
  const config = await writeSidecarConfig(dir, {
    appPort: app.port,
    pki,
    svid: { ...svid, certPem: short.certPem, keyPem: short.keyPem },
    extra: [
      'policies: [policies/]',
      'jwt:',
      '  providers:',
      `    - { name: corp, issuer: "${jwks.origin}", jwksUri: "${jwks.jwksUri}", audiences: [orders], algorithms: [RS256, ES256] }`,
      `rateLimit: { store: redis, redis: { url: "${redis.url}", timeout: 200ms } }`,
      `telemetry: { serviceName: orders, otlp: { endpoint: "${otlp.endpoint}" }, sampling: 1.0 }`,
      'catalog: { protos: [protos/], undeclared: allow }',
      'alerts:',
      `  alertmanager: { url: "${am.url}", resendEvery: 1s }`,
      `  webhook: { url: "${hook.url('/hook')}", headersFile: hook-headers }`,
      '  learnFor: 0s',
      '  eventFor: 3s',
      '  window: 1s',
      '  evaluateEvery: 100ms',
      '  labels: { cluster: test }',
      '  denySpike: { floor: 10 }',
      '  rateSpike: { minCalls: 30 }',
      '  jwtFailures: { floor: 5 }',
    ].join('\n'),
  });
  const clean: Record<string, string> = { OTEL_BSP_SCHEDULE_DELAY: '20' };
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) clean[key] = '';
  // Tracing, the catalog and Redis load at startup: generous on a loaded machine.
  sidecar = await startSidecar(config, { env: clean, timeoutMs: 30_000 });
});

after(async () => {
  closeAllClients();
  await stopAll();
  await Promise.all([app?.close(), jwks?.close(), otlp?.close(), am?.stop(), amHook?.close(), hook?.close(), redis?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('detectors through the built sidecar', () => {
  test('MeshwardNewCaller: labels and annotations in Alertmanager and the webhook, resolved after eventFor', async () => {
    const r = await unary(echo(batch), { message: 'first' });
    assert.equal(r.status, 0, r.details);
    const want = { alertname: 'MeshwardNewCaller', principal: BATCH, method: UNARY };
    const a = await amAlert(want);
    assert.deepEqual(a.labels, { ...want, severity: 'warning', service: 'orders', cluster: 'test' });
    assert.equal(a.status.state, 'active');
    assert.match(a.annotations.summary!, /batch called meshward\.demo\.v1\.Echo\/Unary for the first time \(allowed\)/);
    assert.ok(a.annotations.description);
    assert.match(a.annotations.rule!, /first call of a principal to a method/);
    assert.equal(a.annotations.first_outcome, 'allowed');
    await assertTraceKnown(a.annotations.trace_id);
    // An event alert ends eventFor after it started, and Alertmanager was told so.
    assert.equal(Date.parse(a.endsAt) - Date.parse(a.startsAt), 3000);

    const fired = await hookAlert(hook, 'firing', want);
    assert.equal(fired.path, '/hook');
    assert.equal(fired.headers.authorization, HOOK_TOKEN, 'headers from the headers file');
    assert.equal(fired.body.version, '4');
    const firedAlert = alertIn(fired, 'firing', want);
    assert.equal(firedAlert.fingerprint, a.fingerprint, "meshward's fingerprint is Alertmanager's");
    assert.equal(firedAlert.annotations.trace_id, a.annotations.trace_id);

    await amResolved(want);
    const resolved = alertIn(await hookAlert(hook, 'resolved', want), 'resolved', want);
    assert.equal(Date.parse(resolved.endsAt) - Date.parse(resolved.startsAt), 3000);
    // Alertmanager itself saw it resolve, and meshward's payload has the shape of Alertmanager's.
    const amNote = await hookAlert(amHook, 'resolved', want);
    const ours = await hookAlert(hook, 'resolved', want);
    assert.deepEqual(Object.keys(ours.body).sort(), Object.keys(amNote.body).sort());
    assert.deepEqual(Object.keys(alertIn(ours, 'resolved', want)).sort(), Object.keys(alertIn(amNote, 'resolved', want)).sort());
    assert.equal(alertIn(amNote, 'resolved', want).fingerprint, a.fingerprint);
  });

  test('MeshwardDenySpike: a caller refused above the floor in a window; resolved in the next quiet window', async () => {
    const want = { alertname: 'MeshwardDenySpike', principal: FRONTEND, method: PING };
    const client = adminClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'orders' });
    // A burst that spread over windows leaves a baseline behind, which the next must beat: double it.
    const a = await burstUntilAlert(want, async (round) => {
      const results = await Promise.all(Array.from({ length: 40 * 2 ** Math.min(round, 3) }, () => ping(client, {})));
      assert.ok(results.every((r) => r.status === 7));
    });
    assert.equal(a.labels.severity, 'warning');
    assert.ok(Number(a.annotations.denials) >= 10, a.annotations.denials);
    assert.equal(a.annotations.denials, a.annotations.calls);
    assert.equal(a.annotations.last_reason, 'no_allow_match');
    assert.match(a.annotations.rule!, /floor 10|> 4 x baseline/);
    await assertTraceKnown(a.annotations.trace_id);
    await hookAlert(hook, 'firing', want);
    await amResolved(want);
    await hookAlert(hook, 'resolved', want);
  });

  test('MeshwardJwtFailures: forged signatures, unknown keys and alg none from one caller', async () => {
    const forger = await createSigningKey('RS256');
    const claims = { iss: jwks.origin, aud: 'orders', sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 600 };
    const tokens = [
      ...(await Promise.all([1, 2, 3].map(() => jwks.sign(claims, { key: forger, kid: jwks.keys.RS256.kid })))), // bad signature
      ...(await Promise.all([1, 2, 3].map(() => jwks.sign(claims, { key: forger })))), // unknown kid
      ...(await Promise.all([1, 2, 3].map(() => jwks.sign(claims, { alg: 'none' })))), // alg attack
    ];
    const want = { alertname: 'MeshwardJwtFailures', principal: FRONTEND };
    const client = echo(pki.client);
    const a = await burstUntilAlert(want, async () => {
      const results = await Promise.all(tokens.map((t) => unary(client, { message: 'x' }, { metadata: { authorization: `Bearer ${t}` } })));
      assert.ok(results.every((r) => r.status === 16), JSON.stringify(results.map((r) => r.status)));
    });
    assert.equal(a.labels.severity, 'critical');
    assert.equal(a.labels.method, undefined, 'summed over the caller\'s methods');
    assert.ok(Number(a.annotations.failures) >= 5);
    assert.equal(Number(a.annotations.bad_signature) + Number(a.annotations.unknown_kid) + Number(a.annotations.bad_algorithm), Number(a.annotations.failures));
    await assertTraceKnown(a.annotations.trace_id);
    await amResolved(want);
    await hookAlert(hook, 'resolved', want);
  });

  test('MeshwardRateSpike: a burst far above the pair\'s baseline; resolved when it ends', async () => {
    // batch × Unary has a baseline (known since the first test, idle since).
    const want = { alertname: 'MeshwardRateSpike', principal: BATCH, method: UNARY };
    const client = echo(batch);
    const a = await burstUntilAlert(want, async () => {
      const results = await Promise.all(Array.from({ length: 80 }, () => unary(client, { message: 'burst' })));
      assert.ok(results.every((r) => r.status === 0));
    });
    assert.ok(Number(a.annotations.calls) >= 30, a.annotations.calls);
    assert.ok(Number(a.annotations.calls) > 4 * Math.max(1, Number(a.annotations.baseline_calls)));
    await assertTraceKnown(a.annotations.trace_id);
    await amResolved(want);
  });

  test('MeshwardShadowApi and MeshwardDeprecatedApi: an undeclared and a deprecated method called, from catalog.protos', async () => {
    const shadowCall = await ping(adminClient(sidecar.inbound, clientTls(pki, ops), { servername: 'orders' }), {});
    assert.equal(shadowCall.status, 0, 'ops/* may call Admin/Ping; the app serves it; catalog.protos does not declare it');
    const deprecatedCall = await unary(echo(ops), { message: 'old' });
    assert.equal(deprecatedCall.status, 7);
    const shadow = { alertname: 'MeshwardShadowApi', principal: OPS, method: PING };
    const deprecated = { alertname: 'MeshwardDeprecatedApi', principal: OPS, method: UNARY };
    const s = await amAlert(shadow);
    assert.equal(s.labels.severity, 'warning');
    assert.equal(s.annotations.first_outcome, 'allowed');
    assert.match(s.annotations.rule!, /not declared in catalog\.protos/);
    await assertTraceKnown(s.annotations.trace_id);
    const d = await amAlert(deprecated);
    assert.equal(d.labels.severity, 'info');
    assert.equal(d.annotations.first_outcome, 'no_allow_match');
    assert.equal(d.annotations.file, 'echo.proto');
    await amResolved(shadow);
    await amResolved(deprecated);
    await hookAlert(hook, 'resolved', shadow);
    await hookAlert(hook, 'resolved', deprecated);
  });

  test('MeshwardCertificateExpiry: fired from the start, re-sent while active, resolved by a rotated certificate', async () => {
    const want = { alertname: 'MeshwardCertificateExpiry', principal: serverId() };
    const a = await amAlert(want);
    assert.equal(a.labels.severity, 'warning');
    assert.equal(a.labels.method, undefined);
    assert.ok(Number(a.annotations.lifetime_left) < 0.2);
    // Re-sent every second: Alertmanager's copy is refreshed and its endsAt moves on.
    const later = await until('a resend', () => amAlert(want), (x) => Date.parse(x.endsAt) > Date.parse(a.endsAt));
    assert.equal(later.startsAt, a.startsAt);

    const fresh = await issueWorkloadCert({ ca: pki.ca, uris: [serverId()], validHours: 24 });
    await writeFile(svid.keyFile, fresh.keyPem, { mode: 0o600 });
    await writeFile(svid.certFile, fresh.certPem);
    await amResolved(want);
    await hookAlert(hook, 'resolved', want);
  });

  test('MeshwardLimitStoreDown: Redis killed, then back', async () => {
    const want = { alertname: 'MeshwardLimitStoreDown', service: 'orders' };
    await redis.kill();
    const a = await amAlert(want);
    assert.equal(a.labels.severity, 'critical');
    assert.equal(a.annotations.fail_mode, 'closed');
    await redis.restart();
    await amResolved(want);
    await hookAlert(hook, 'resolved', want);
  });
});

describe('admin and metrics', () => {
  test('GET /alerts lists the active alerts with their labels and annotations', async () => {
    const r = await ping(adminClient(sidecar.inbound, clientTls(pki, batch), { servername: 'orders' }), {});
    assert.equal(r.status, 7);
    const isNew = (a: any): boolean => a.labels.alertname === 'MeshwardNewCaller' && a.labels.principal === BATCH && a.labels.method === PING;
    const view = await until('/alerts to list a new caller', () => adminJson('/alerts'), (v) => v.alerts.some(isNew));
    assert.equal(view.enabled, true);
    const a = view.alerts.find(isNew);
    assert.deepEqual(Object.keys(a).sort(), ['annotations', 'endsAt', 'fingerprint', 'labels', 'startsAt', 'status']);
    assert.equal(a.status, 'firing');
    assert.equal(a.annotations.first_outcome, 'no_allow_match');
    assert.equal(Date.parse(a.endsAt) - Date.parse(a.startsAt), 3000);
    assert.deepEqual(view.receivers.map((r: any) => r.name), ['alertmanager', 'webhook']);
    assert.ok(view.pairs >= 3);
  });

  test('metrics count deliveries; the webhook token never reaches the logs', async () => {
    const samples = parsePromText(await (await fetch(`http://${sidecar.admin}/metrics`)).text());
    assert.ok(sumOf(samples, 'meshward_alerts_sent_total', { receiver: 'alertmanager', result: 'ok' }) > 0);
    assert.ok(sumOf(samples, 'meshward_alerts_sent_total', { receiver: 'webhook', result: 'ok' }) > 0);
    assert.equal(sumOf(samples, 'meshward_alerts_sent_total', { receiver: 'webhook', result: 'dropped' }), 0);
    assert.ok(sumOf(samples, 'meshward_alerts_fired_total', { alertname: 'MeshwardDenySpike' }) >= 1);
    const logs = [...sidecar.stderrLines, ...sidecar.stdoutLines].join('\n');
    assert.match(logs, /alert firing/);
    assert.ok(!logs.includes('hook-secret'), 'the header value is not logged');
    const config = JSON.stringify(await adminJson('/config'));
    assert.ok(!config.includes('hook-secret'));
  });
});
