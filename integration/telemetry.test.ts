// Observability end to end (issue 6): the built sidecar exports its SERVER spans over OTLP to a
// receiver that decodes them (proto/otlp/trace-subset.proto), continues the caller's trace and
// hands the app a traceparent naming meshward's span; /metrics counts a known mix of calls
// exactly; audit records carry the trace ids; a collector that is down or never answers slows
// no call and costs a bounded queue.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { readAudit } from './support/audit-file.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { adminClient, bidi, clientStream, closeAllClients, echoClient, ping, unary } from './support/grpc-clients.js';
import { JwksServer } from './support/jwks-server.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { freePort } from './support/ports.js';
import { parsePromText, sumOf, type Sample } from './support/prom-text.js';
import { grpcFrame, rawRequest } from './support/raw-h2.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, makePki, type Pki } from './support/tls-fixtures.js';

const SERVER = 2; // OTLP SpanKind
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;
const UNARY = 'meshward.demo.v1.Echo/Unary';

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: tel }
spec:
  grpc:
    - methods: ["meshward.demo.v1.Echo/Unary"]
      allow: [ { principals: ["spiffe://cluster.local/ns/web/sa/frontend"] } ]
    - methods: ["meshward.demo.v1.Echo/ClientStream"]
      allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
    - methods: ["meshward.demo.v1.Admin/*"]
      allow:
        - principals: ["spiffe://cluster.local/ns/web/*"]
          jwt: { provider: corp }
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
let pki: Pki;
let app: EchoApp;
let jwks: JwksServer;
const receivers: OtlpReceiver[] = [];

const hexId = (bytes: number): string => randomBytes(bytes).toString('hex');
const now = (): number => Math.floor(Date.now() / 1000);
const creds = () => clientTls(pki, pki.client);

interface Started {
  sidecar: SidecarProcess;
  auditFile: string;
  policyDir: string;
}

let seq = 0;
/** A sidecar with the test policy, the JWT provider, an audit file and `telemetry` YAML lines. */
async function startTelemetrySidecar(telemetry: string[], env: Record<string, string> = {}): Promise<Started> {
  const own = join(dir, `sidecar-${++seq}`);
  const policyDir = join(own, 'policies');
  await mkdir(policyDir, { recursive: true });
  await writeFile(join(policyDir, 'tel.yaml'), POLICY);
  const config = await writeSidecarConfig(own, {
    appPort: app.port,
    pki,
    extra: [
      'policies: [policies/]',
      'jwt:',
      '  providers:',
      `    - { name: corp, issuer: "${jwks.origin}", jwksUri: "${jwks.jwksUri}", audiences: [orders], algorithms: [RS256, ES256] }`,
      'audit: { file: audit.log }',
      ...telemetry,
    ].join('\n'),
  });
  // A short export delay so spans arrive within a test; no OTEL_* from the runner's environment.
  const clean: Record<string, string> = { OTEL_BSP_SCHEDULE_DELAY: '20' };
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) clean[key] = '';
  const sidecar = await startSidecar(config, { env: { ...clean, ...env } });
  return { sidecar, auditFile: join(own, 'audit.log'), policyDir };
}

async function receiver(opts: Parameters<typeof OtlpReceiver.start>[0] = {}): Promise<OtlpReceiver> {
  const r = await OtlpReceiver.start(opts);
  receivers.push(r);
  return r;
}

function fetchText(url: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    }).on('error', reject);
  });
}

async function metricsText(sidecar: SidecarProcess): Promise<string> {
  const r = await fetchText(`http://${sidecar.admin}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  return r.body;
}

/** `promtool check metrics` (Debian prometheus) lints the exposition: names, types, help. */
async function assertPromtoolAccepts(text: string): Promise<void> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (out += c));
  child.stdin.end(text);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  assert.equal(code, 0, `promtool check metrics:\n${out}`);
}

async function metrics(sidecar: SidecarProcess): Promise<Sample[]> {
  return parsePromText(await metricsText(sidecar));
}

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The traceparent the app received for the call whose metadata carried `marker`. */
function appTraceparent(marker: string): string {
  const call = app.calls.find((c) => c.metadata['x-test-marker'] === marker);
  assert.ok(call, `the app saw the call ${marker}`);
  return String(call.metadata.traceparent);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-telemetry-'));
  pki = await makePki(join(dir, 'pki'));
  app = await startEchoApp();
  jwks = await JwksServer.start();
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await jwks?.close();
  for (const r of receivers) await r.close();
  await rm(dir, { recursive: true, force: true });
});

describe('traces: client → meshward SERVER span → app', () => {
  let otlp: OtlpReceiver;
  let s: Started;
  const echo = () => echoClient(s.sidecar.inbound, creds(), { servername: 'orders' });

  before(async () => {
    otlp = await receiver();
    s = await startTelemetrySidecar([
      'telemetry:',
      '  serviceName: orders-test',
      `  otlp: { endpoint: "${otlp.endpoint}" }`,
      '  sampling: 1.0',
    ]);
  });

  test('a traced call continues the caller trace, and the app is a child of meshward', async () => {
    const traceId = hexId(16);
    const clientSpan = hexId(8);
    const r = await unary(echo(), { message: 'traced' }, {
      metadata: { traceparent: `00-${traceId}-${clientSpan}-01`, tracestate: 'vendor=abc', 'x-test-marker': 'traced' },
    });
    assert.equal(r.status, 0, r.details);
    const [span] = await otlp.waitForSpans((x) => x.traceId === traceId);
    assert.ok(span);
    assert.equal(span.name, UNARY);
    assert.equal(span.kind, SERVER);
    assert.equal(span.parentSpanId, clientSpan, 'meshward span is the child of the client span');
    assert.equal(span.traceState, 'vendor=abc');
    assert.equal(span.status.code, STATUS_UNSET);
    assert.deepEqual(
      {
        system: span.attributes['rpc.system'],
        service: span.attributes['rpc.service'],
        method: span.attributes['rpc.method'],
        code: span.attributes['rpc.grpc.status_code'],
        decision: span.attributes['meshward.decision'],
        reason: span.attributes['meshward.reason'],
        rule: span.attributes['meshward.rule'],
        principal: span.attributes['meshward.principal'],
      },
      {
        system: 'grpc',
        service: 'meshward.demo.v1.Echo',
        method: 'Unary',
        code: 0,
        decision: 'allow',
        reason: 'allowed',
        rule: 'tel:grpc[0]',
        principal: 'spiffe://cluster.local/ns/web/sa/frontend',
      },
    );
    assert.ok(span.endNs > span.startNs);
    assert.equal(span.resource['service.name'], 'orders-test');
    assert.equal(span.resource['service.version'], '0.1.0');
    assert.equal(span.scope.name, 'meshward');

    // The app's spans would be children of meshward's: its traceparent names meshward's span.
    assert.equal(appTraceparent('traced'), `00-${traceId}-${span.spanId}-01`);
    const call = app.calls.find((c) => c.metadata['x-test-marker'] === 'traced');
    assert.equal(call?.metadata.tracestate, 'vendor=abc', 'tracestate passes through');
  });

  test('a denial is a span event with the reason and rule; status unset for 7; nothing reaches the app', async () => {
    const traceId = hexId(16);
    const calls = app.calls.length;
    const r = await clientStream(echo(), [{ message: 'x' }], { metadata: { traceparent: `00-${traceId}-${hexId(8)}-01` } });
    assert.equal(r.status, 7);
    const [span] = await otlp.waitForSpans((x) => x.traceId === traceId);
    assert.ok(span);
    assert.equal(span.name, 'meshward.demo.v1.Echo/ClientStream');
    assert.equal(span.attributes['rpc.grpc.status_code'], 7);
    assert.equal(span.attributes['meshward.decision'], 'deny');
    assert.equal(span.attributes['meshward.reason'], 'no_allow_match');
    assert.equal(span.status.code, STATUS_UNSET, 'PERMISSION_DENIED is not a server error');
    const refused = span.events.find((e) => e.name === 'meshward.refused');
    assert.ok(refused, JSON.stringify(span.events));
    assert.equal(refused.attributes['meshward.reason'], 'no_allow_match');
    assert.equal(refused.attributes['meshward.rule'], 'tel:grpc[1]');
    assert.match(String(refused.attributes['meshward.detail']), /no allow entry/);
    assert.equal(app.calls.length, calls);
    const audit = await waitFor('audit record', () => readAudit(s.auditFile), (a) => a.some((x) => x.trace_id === traceId));
    const rec = audit.find((x) => x.trace_id === traceId);
    assert.equal(rec?.span_id, span.spanId);
  });

  test('an app error (14) makes the span status ERROR', async () => {
    const traceId = hexId(16);
    const r = await unary(echo(), { message: 'fail', failCode: 14 }, { metadata: { traceparent: `00-${traceId}-${hexId(8)}-01` } });
    assert.equal(r.status, 14);
    const [span] = await otlp.waitForSpans((x) => x.traceId === traceId);
    assert.equal(span?.status.code, STATUS_ERROR);
    assert.equal(span?.attributes['rpc.grpc.status_code'], 14);
  });

  test('an unsampled caller: no span exported, the app gets the trace with sampled=0 and a new parent', async () => {
    const traceId = hexId(16);
    const caller = hexId(8);
    const r = await unary(echo(), { message: 'unsampled' }, { metadata: { traceparent: `00-${traceId}-${caller}-00`, 'x-test-marker': 'unsampled' } });
    assert.equal(r.status, 0);
    const got = appTraceparent('unsampled');
    assert.match(got, new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    assert.notEqual(got.slice(36, 52), caller);
    // A later sampled call's span arrives; the unsampled one (earlier in the same queue) never does.
    const later = hexId(16);
    await unary(echo(), { message: 'after' }, { metadata: { traceparent: `00-${later}-${hexId(8)}-01` } });
    await otlp.waitForSpans((x) => x.traceId === later);
    assert.equal(otlp.spans.filter((x) => x.traceId === traceId).length, 0);
  });

  test('no traceparent: meshward starts the trace; an invalid one is replaced and its tracestate dropped', async () => {
    const r = await unary(echo(), { message: 'root' }, { metadata: { 'x-test-marker': 'root' } });
    assert.equal(r.status, 0);
    const tp = appTraceparent('root');
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(tp);
    assert.ok(m, tp);
    const [span] = await otlp.waitForSpans((x) => x.traceId === m[1]);
    assert.equal(span?.spanId, m[2]);
    assert.equal(span?.parentSpanId, '', 'a root span');

    const bad = `00-${'0'.repeat(32)}-${hexId(8)}-01`; // all-zero trace id: invalid
    await unary(echo(), { message: 'bad' }, { metadata: { traceparent: bad, tracestate: 'vendor=x', 'x-test-marker': 'bad' } });
    const replaced = appTraceparent('bad');
    assert.notEqual(replaced, bad);
    assert.match(replaced, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const call = app.calls.find((c) => c.metadata['x-test-marker'] === 'bad');
    assert.equal(call?.metadata.tracestate, undefined);
  });

  test('unknown and malformed methods do not become span names', async () => {
    const unknown = hexId(16);
    const malformed = hexId(16);
    const tp = (t: string) => ({ traceparent: `00-${t}-${hexId(8)}-01` });
    const a = await rawRequest(s.sidecar.inbound, creds(), { path: `/scan.x${hexId(4)}.Svc/M${hexId(4)}`, headers: tp(unknown), body: grpcFrame(Buffer.alloc(0)) });
    const b = await rawRequest(s.sidecar.inbound, creds(), { path: '/meshward.demo.v1.Echo/../Unary', headers: tp(malformed), body: grpcFrame(Buffer.alloc(0)) });
    assert.equal(a.headers['grpc-status'], '7');
    assert.equal(b.headers['grpc-status'], '7');
    const [u] = await otlp.waitForSpans((x) => x.traceId === unknown);
    const [mf] = await otlp.waitForSpans((x) => x.traceId === malformed);
    assert.equal(u?.name, '_OTHER');
    assert.equal(u?.attributes['meshward.reason'], 'default_deny');
    assert.equal(mf?.name, '_OTHER');
    assert.equal(mf?.attributes['meshward.path'], '/meshward.demo.v1.Echo/../Unary');
    assert.equal(mf?.attributes['meshward.reason'], 'malformed_path');
  });
});

describe('metrics and audit after a known mix of calls', () => {
  let otlp: OtlpReceiver;
  let s: Started;

  before(async () => {
    otlp = await receiver();
    s = await startTelemetrySidecar(['telemetry:', `  otlp: { endpoint: "${otlp.endpoint}" }`]);
  });

  test('/metrics counts every call exactly; audit records match the denials one to one, with their trace ids', async () => {
    const echo = echoClient(s.sidecar.inbound, creds(), { servername: 'orders' });
    const admin = adminClient(s.sidecar.inbound, creds(), { servername: 'orders' });
    const token = await jwks.sign({ iss: jwks.origin, aud: 'orders', sub: 'alice', exp: now() + 600 });
    const expired = await jwks.sign({ iss: jwks.origin, aud: 'orders', sub: 'alice', exp: now() - 3600 });
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

    for (let i = 0; i < 5; i++) assert.equal((await unary(echo, { message: `ok${i}` })).status, 0); // 5 allowed
    assert.equal((await unary(echo, { message: 'boom', failCode: 13 })).status, 13); // allowed, app says 13
    for (let i = 0; i < 3; i++) assert.equal((await clientStream(echo, [{ message: 'x' }])).status, 7); // 3 denied by rule
    assert.equal((await ping(admin, {}, { metadata: bearer(token) })).status, 0); // wildcard, JWT ok
    assert.equal((await ping(admin, {})).status, 16); // wildcard, JWT required
    assert.equal((await ping(admin, {}, { metadata: bearer(expired) })).status, 16); // JWT expired
    assert.equal((await bidi(echo, [{ message: 'a' }])).status, 0); // audit_deny: goes through
    for (const path of ['/scan.a.Svc/One', '/scan.b.Svc/Two']) {
      const r = await rawRequest(s.sidecar.inbound, creds(), { path, body: grpcFrame(Buffer.alloc(0)) });
      assert.equal(r.headers['grpc-status'], '7'); // 2 default deny
    }
    const denials = 3 + 1 + 1 + 2;

    // Every call has closed before the counters are read (the close is what counts it).
    const samples = await waitFor('all calls counted', () => metrics(s.sidecar), (m) => sumOf(m, 'meshward_requests_total') === 15);
    const req = (labels: Record<string, string>) => sumOf(samples, 'meshward_requests_total', { protocol: 'grpc', direction: 'inbound', ...labels });
    assert.equal(req({ method: UNARY, code: '0', decision: 'allow' }), 5);
    assert.equal(req({ method: UNARY, code: '13', decision: 'allow' }), 1);
    assert.equal(req({ method: 'meshward.demo.v1.Echo/ClientStream', code: '7', decision: 'deny' }), 3);
    assert.equal(req({ method: 'meshward.demo.v1.Admin/Ping', code: '0', decision: 'allow' }), 1);
    assert.equal(req({ code: '16', decision: 'deny' }), 2);
    assert.equal(req({ method: 'meshward.demo.v1.Echo/Bidi', code: '0', decision: 'audit_deny' }), 1);
    assert.equal(req({ method: '_OTHER', code: '7', decision: 'deny' }), 2);
    assert.equal(samples.filter((x) => x.name === 'meshward_requests_total' && x.labels.method?.startsWith('scan.')).length, 0, 'no series per scanned path');

    const count = sumOf(samples, 'meshward_request_duration_seconds_count');
    assert.equal(count, 15);
    assert.equal(sumOf(samples, 'meshward_request_duration_seconds_bucket', { le: '+Inf' }), 15);

    const dec = (labels: Record<string, string>) => sumOf(samples, 'meshward_policy_decisions_total', labels);
    assert.equal(dec({ decision: 'allow', reason: 'allowed', rule: 'tel:grpc[0]' }), 6);
    assert.equal(dec({ decision: 'deny', reason: 'no_allow_match', rule: 'tel:grpc[1]' }), 3);
    assert.equal(dec({ decision: 'deny', reason: 'jwt_required', rule: 'tel:grpc[2]' }), 1);
    assert.equal(dec({ decision: 'deny', reason: 'jwt_expired', rule: '' }), 1);
    assert.equal(dec({ decision: 'deny', reason: 'default_deny', rule: '' }), 2);
    assert.equal(dec({ decision: 'audit_deny', reason: 'no_allow_match', rule: 'shadow:grpc[0]' }), 1);
    assert.equal(dec({ decision: 'deny' }), denials);

    assert.equal(sumOf(samples, 'meshward_jwt_validations_total', { provider: 'corp', result: 'ok' }), 1);
    assert.equal(sumOf(samples, 'meshward_jwt_validations_total', { provider: 'corp', result: 'expired' }), 1);
    assert.equal(sumOf(samples, 'meshward_jwt_validations_total'), 2);
    assert.match(await metricsText(s.sidecar), /^# TYPE meshward_ratelimit_rejections_total counter$/m, 'registered (the limits count into it)');
    const notAfter = Math.floor(Date.parse(new X509Certificate(pki.server.certPem).validTo) / 1000);
    assert.equal(sumOf(samples, 'meshward_certificate_expiry_seconds'), notAfter);
    assert.equal(sumOf(samples, 'meshward_policy_reloads_total', { result: 'ok' }), 0);
    assert.ok(samples.some((x) => x.name === 'process_cpu_user_seconds_total'), 'process metrics');
    await assertPromtoolAccepts(await metricsText(s.sidecar));

    // Audit: one record per denial plus the audit_deny, each with the trace of its exported span.
    const audit = await waitFor('audit records', () => readAudit(s.auditFile), (a) => a.length >= denials + 1);
    assert.equal(audit.length, denials + 1);
    assert.equal(audit.filter((a) => a.decision === 'deny').length, denials);
    assert.equal(audit.filter((a) => a.decision === 'audit_deny').length, 1);
    const spans = await otlp.waitForSpans((x) => x.attributes['meshward.decision'] !== 'allow', denials + 1);
    for (const rec of audit) {
      assert.match(String(rec.trace_id), /^[0-9a-f]{32}$/);
      const span = spans.find((x) => x.traceId === rec.trace_id);
      assert.ok(span, `a span for audit record ${JSON.stringify(rec)}`);
      assert.equal(span.spanId, rec.span_id);
      assert.equal(span.attributes['meshward.reason'], rec.reason);
    }
    assert.equal(new Set(audit.map((a) => a.trace_id)).size, audit.length, 'one record per call');
  });

  test('a policy reload is counted', async () => {
    await writeFile(join(s.policyDir, 'extra.yaml'), POLICY.replace('name: tel', 'name: tel2').replace('name: shadow', 'name: shadow2'));
    const samples = await waitFor('reload counted', () => metrics(s.sidecar), (m) => sumOf(m, 'meshward_policy_reloads_total', { result: 'ok' }) === 1);
    assert.equal(sumOf(samples, 'meshward_policy_reloads_total', { result: 'error' }), 0);
  });
});

describe('a collector that is down or never answers', () => {
  const env = { OTEL_BSP_MAX_QUEUE_SIZE: '8', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4', OTEL_BSP_SCHEDULE_DELAY: '5', OTEL_EXPORTER_OTLP_TIMEOUT: '60000' };

  for (const kind of ['down', 'hanging'] as const) {
    test(`${kind}: 200 calls all succeed, none waits, spans beyond the queue are dropped and counted`, async () => {
      const endpoint = kind === 'down' ? `http://127.0.0.1:${await freePort()}` : (await receiver({ hang: true })).endpoint;
      const s = await startTelemetrySidecar(['telemetry:', `  otlp: { endpoint: "${endpoint}" }`], env);
      const echo = echoClient(s.sidecar.inbound, creds(), { servername: 'orders' });
      const started = performance.now();
      let slowest = 0;
      for (let batch = 0; batch < 20; batch++) {
        const results = await Promise.all(
          Array.from({ length: 10 }, async () => {
            const t = performance.now();
            const r = await unary(echo, { message: 'x' }, { deadlineMs: 2_000 });
            slowest = Math.max(slowest, performance.now() - t);
            return r.status;
          }),
        );
        assert.deepEqual(results, Array(10).fill(0));
      }
      const total = performance.now() - started;
      assert.ok(slowest < 1_000, `slowest call ${slowest.toFixed(0)} ms`);
      assert.ok(total < 15_000, `200 calls took ${total.toFixed(0)} ms`);
      const samples = await metrics(s.sidecar);
      const dropped = sumOf(samples, 'meshward_trace_spans_dropped_total');
      const failed = sumOf(samples, 'meshward_trace_spans_failed_total');
      const queued = sumOf(samples, 'meshward_trace_export_queue_spans');
      assert.ok(queued <= 8, `queued ${queued}`);
      // Every span is accounted for: dropped, failed, queued, or in the one batch (<= 4) in flight.
      assert.ok(dropped + failed + queued >= 200 - 4, `dropped ${dropped}, failed ${failed}, queued ${queued}`);
      if (kind === 'hanging') assert.ok(dropped >= 200 - 8 - 4, `dropped ${dropped}`);
      assert.equal(sumOf(samples, 'meshward_trace_spans_exported_total'), 0);
      assert.equal(sumOf(samples, 'meshward_requests_total', { code: '0' }), 200);
      // Shutdown stays bounded with exports stuck.
      const t = performance.now();
      assert.equal(await s.sidecar.stop(), 0);
      assert.ok(performance.now() - t < 9_000, `stop took ${(performance.now() - t).toFixed(0)} ms`);
    });
  }
});

describe('protocols and the OTEL_* environment', () => {
  test('OTLP/HTTP JSON chosen by the environment alone; OTEL_SERVICE_NAME applies when the file sets none', async () => {
    const otlp = await receiver();
    const s = await startTelemetrySidecar([], {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'from-env',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '1',
    });
    const traceId = hexId(16);
    const r = await unary(echoClient(s.sidecar.inbound, creds(), { servername: 'orders' }), { message: 'json' }, { metadata: { traceparent: `00-${traceId}-${hexId(8)}-01` } });
    assert.equal(r.status, 0);
    const [span] = await otlp.waitForSpans((x) => x.traceId === traceId);
    assert.equal(span?.name, UNARY);
    assert.equal(span?.resource['service.name'], 'from-env');
    assert.ok(otlp.contentTypes.every((t) => t.startsWith('application/json')), otlp.contentTypes.join());
    await s.sidecar.stop();
  });

  test('OTLP/gRPC chosen by the file wins over the environment, and so does its service name and sampling', async () => {
    const otlp = await receiver({ protocol: 'grpc' });
    const s = await startTelemetrySidecar(
      ['telemetry:', '  serviceName: from-file', `  otlp: { endpoint: "${otlp.endpoint}", protocol: grpc }`, '  sampling: 1'],
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'from-env', OTEL_TRACES_SAMPLER: 'always_off' },
    );
    const traceId = hexId(16);
    const r = await unary(echoClient(s.sidecar.inbound, creds(), { servername: 'orders' }), { message: 'grpc' }, { metadata: { traceparent: `00-${traceId}-${hexId(8)}-01` } });
    assert.equal(r.status, 0);
    const [span] = await otlp.waitForSpans((x) => x.traceId === traceId);
    assert.equal(span?.kind, SERVER);
    assert.equal(span?.resource['service.name'], 'from-file');
    assert.ok(otlp.contentTypes.every((t) => t === 'grpc'));
    await s.sidecar.stop();
  });

  test('OTEL_SDK_DISABLED: no export, metrics still served, traceparent passes through untouched', async () => {
    const otlp = await receiver();
    const s = await startTelemetrySidecar(['telemetry:', `  otlp: { endpoint: "${otlp.endpoint}" }`], { OTEL_SDK_DISABLED: 'true' });
    const tp = `00-${hexId(16)}-${hexId(8)}-01`;
    const r = await unary(echoClient(s.sidecar.inbound, creds(), { servername: 'orders' }), { message: 'off' }, { metadata: { traceparent: tp, 'x-test-marker': 'off' } });
    assert.equal(r.status, 0);
    assert.equal(appTraceparent('off'), tp);
    const samples = await waitFor('counted', () => metrics(s.sidecar), (m) => sumOf(m, 'meshward_requests_total') === 1);
    assert.equal(sumOf(samples, 'meshward_trace_spans_exported_total'), 0);
    await s.sidecar.stop();
    assert.equal(otlp.requests, 0);
  });
});
