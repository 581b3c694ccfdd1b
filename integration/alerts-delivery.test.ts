// Alert delivery when receivers misbehave (issue 18, DESIGN §10): Alertmanager that accepts
// connections and never answers, a webhook that answers 503. Calls keep going at their usual
// speed, the sidecar stays ready, the bounded queues drop their oldest alerts (counted) and
// retry; when a real Alertmanager comes up on that port and the webhook recovers, the alerts
// still active arrive.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { startAlertmanager, type Alertmanager } from './support/alertmanager.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { closeAllClients, echoClient } from './support/grpc-clients.js';
import { freePort } from './support/ports.js';
import { parsePromText, sumOf } from './support/prom-text.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, makePki, type Pki } from './support/tls-fixtures.js';
import { WebhookSink } from './support/webhook-sink.js';

const FRONTEND = 'spiffe://cluster.local/ns/web/sa/frontend';
const METHODS = Array.from({ length: 20 }, (_, i) => `meshward.demo.v1.Extra/M${i}`);
const RECEIVER_TIMEOUT_MS = 3000;

let dir: string;
let pki: Pki;
let app: EchoApp;
let sidecar: SidecarProcess;
let hook: WebhookSink;
let amPort: number;
let blackhole: Server;
const held: Socket[] = [];
let am: Alertmanager | undefined;

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const metric = async (name: string, labels: Record<string, string>): Promise<number> =>
  sumOf(parsePromText(await (await fetch(`http://${sidecar.admin}/metrics`)).text()), name, labels);

/** One unary call to `path` (any method name; the app answers 12 for the ones it lacks); its wall time. */
function timedCall(client: grpc.Client, path: string): Promise<{ ms: number; code: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/${path}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err) => resolve({ ms: performance.now() - start, code: err?.code ?? 0 }),
    );
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-alerts-delivery-'));
  pki = await makePki(join(dir, 'pki'));
  app = await startEchoApp();
  hook = await WebhookSink.start();
  hook.mode = 'fail';
  // "Alertmanager" at first: a port that accepts connections and never answers.
  amPort = await freePort();
  blackhole = createServer((s) => void held.push(s));
  await new Promise<void>((r) => blackhole.listen(amPort, '127.0.0.1', r));

  await mkdir(join(dir, 'policies'));
  await writeFile(
    join(dir, 'policies', 'extra.yaml'),
    `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: extra }
spec:
  grpc:
    - methods: [${METHODS.map((m) => JSON.stringify(m)).join(', ')}]
      allow: [ { principals: ["${FRONTEND}"] } ]
`,
  );
  const config = await writeSidecarConfig(dir, {
    appPort: app.port,
    pki,
    extra: [
      'policies: [policies/]',
      'alerts:',
      `  alertmanager: { url: "http://127.0.0.1:${amPort}", timeout: ${RECEIVER_TIMEOUT_MS}ms, resendEvery: 1s }`,
      `  webhook: { url: "${hook.url('/hook')}", timeout: ${RECEIVER_TIMEOUT_MS}ms }`,
      '  learnFor: 0s',
      '  eventFor: 5m',
      '  window: 1s',
      '  evaluateEvery: 100ms',
      '  delivery: { queueSize: 5, batch: 2, retries: 2, backoff: 100ms, maxBackoff: 400ms }',
    ].join('\n'),
  });
  sidecar = await startSidecar(config, { timeoutMs: 30_000 });
});

after(async () => {
  closeAllClients();
  await stopAll();
  for (const s of held) s.destroy();
  await new Promise((r) => blackhole?.close(r));
  await Promise.all([app?.close(), hook?.close(), am?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

test('receivers down: calls keep their speed, the sidecar stays ready, full queues drop the oldest and count it', async () => {
  const client = echoClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'orders' });
  await timedCall(client, METHODS[0]!); // connection set up
  const times: number[] = [];
  // 20 new callers (one per method), then 40 more calls while their alerts cannot be delivered.
  for (let round = 0; round < 3; round++) {
    for (const m of METHODS) {
      const r = await timedCall(client, m);
      assert.equal(r.code, grpc.status.UNIMPLEMENTED, 'allowed, forwarded, the app lacks it');
      times.push(r.ms);
    }
  }
  await until('20 alerts active', async () => (await (await fetch(`http://${sidecar.admin}/alerts`)).json()) as any, (v) => v.alerts.length >= 20);
  for (const m of METHODS) times.push((await timedCall(client, m)).ms);
  // A receiver attempt takes up to 3 s here; no call waited for one.
  const slowest = Math.max(...times);
  assert.ok(slowest < RECEIVER_TIMEOUT_MS / 3, `slowest call ${slowest.toFixed(1)} ms`);

  const dropped = await until('drops counted for both receivers', async () => [await metric('meshward_alerts_sent_total', { receiver: 'alertmanager', result: 'dropped' }), await metric('meshward_alerts_sent_total', { receiver: 'webhook', result: 'dropped' })], ([a, w]) => a! > 0 && w! > 0);
  assert.ok(dropped[0]! <= 20 && dropped[1]! <= 20);
  await until('webhook retries counted', () => metric('meshward_alerts_sent_total', { receiver: 'webhook', result: 'retried' }), (n) => n > 0);
  await until('webhook batches given up', () => metric('meshward_alerts_sent_total', { receiver: 'webhook', result: 'failed' }), (n) => n > 0);
  assert.ok((await metric('meshward_alerts_queue_length', { receiver: 'webhook' })) <= 5);
  assert.equal((await fetch(`http://${sidecar.admin}/readyz`)).status, 200);
  assert.equal(sidecar.proc.exitCode, null);
  const failures = sidecar.logs().filter((l) => l.msg === 'alerts: delivery failed; retrying');
  assert.ok(failures.some((l) => l.receiver === 'webhook' && String(l.error).includes('HTTP 503')), JSON.stringify(failures));
});

test('receivers back: a real Alertmanager on that port and a healthy webhook get the active alerts', async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => blackhole.close(r));
  am = await startAlertmanager(join(dir, 'alertmanager'), { port: amPort });
  hook.mode = 'ok';
  // Active alerts are re-sent every second: all 20 reach Alertmanager although most were dropped.
  const alerts = await until('Alertmanager to hold the 20 new callers', () => am!.alerts(), (as) => as.filter((a) => a.labels.alertname === 'MeshwardNewCaller').length === 20);
  assert.deepEqual(alerts.map((a) => a.labels.method).sort(), [...METHODS].sort());
  assert.ok(alerts.every((a) => a.labels.principal === FRONTEND));
  // The webhook gets what is queued after its recovery: a new caller now.
  const client = echoClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'orders' });
  await timedCall(client, 'meshward.demo.v1.Echo/ServerStream');
  const got = await hook.waitFor((r) => r.body?.alerts?.some((a: any) => a.labels.method === '_OTHER'), 'the new caller on _OTHER', 20_000);
  assert.equal(got.body.status, 'firing');
  assert.ok((await metric('meshward_alerts_sent_total', { receiver: 'webhook', result: 'ok' })) > 0);
});

test('a bad webhook headers file stops startup with exit 2, naming the file and line but not the value', async () => {
  const own = join(dir, 'bad-headers');
  await mkdir(own);
  await writeFile(join(own, 'headers'), 'Authorization: Bearer leaked-if-printed\nno colon here\n');
  const config = await writeSidecarConfig(own, {
    appPort: app.port,
    pki,
    extra: `alerts:\n  webhook: { url: "${hook.url('/hook')}", headersFile: headers }\n`,
  });
  const failed = await startSidecar(config, { expectFailure: true });
  assert.equal(failed.proc.exitCode, 2);
  const err = failed.stderrLines.join('\n');
  assert.match(err, /invalid config/);
  assert.match(err, /alerts\.webhook\.headersFile: .*headers:2: expected "Name: value"/);
  assert.ok(!err.includes('leaked-if-printed'));
});

test('workers: 2 — the primary\'s GET /alerts lists what every worker found', async () => {
  const own = join(dir, 'workers');
  await mkdir(join(own, 'policies'), { recursive: true });
  const config = await writeSidecarConfig(own, {
    appPort: app.port,
    pki,
    allowAnyAuthenticated: true,
    extra: 'workers: 2\nalerts: { learnFor: 0s, evaluateEvery: 100ms, window: 1s }\n',
  });
  const primary = await startSidecar(config, { timeoutMs: 20_000 });
  const client = echoClient(primary.inbound, clientTls(pki, pki.client), { servername: 'orders' });
  // Round robin: over a few connections both workers serve calls.
  for (let i = 0; i < 4; i++) {
    const c = echoClient(primary.inbound, clientTls(pki, pki.client), { servername: 'orders', channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
    await timedCall(c, 'meshward.demo.v1.Echo/Unary');
  }
  await timedCall(client, 'meshward.demo.v1.Echo/Unary');
  const view = await until('both workers to list the new caller', async () => (await (await fetch(`http://${primary.admin}/alerts`)).json()) as any, (v) => v.workers?.length === 2 && v.workers.every((w: any) => w.pairs >= 1) && v.alerts?.length >= 1);
  assert.equal(view.enabled, true);
  assert.deepEqual(view.workers.map((w: any) => w.worker).sort(), [1, 2]);
  assert.ok(view.workers.every((w: any) => w.pairs >= 1), `both workers served calls: ${JSON.stringify(view.workers)}`);
  const news = view.alerts.filter((a: any) => a.labels.alertname === 'MeshwardNewCaller');
  assert.equal(news.length, 1, 'the same alert from both workers is listed once');
  assert.equal(news[0].labels.principal, FRONTEND);
  await primary.stop();
});
