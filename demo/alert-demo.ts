// The alerts part of `npm run demo` (DESIGN §10): a receiver for meshward's webhook and, when
// the Debian package is installed, a real Alertmanager; then a workload the sidecar has never
// seen calls a method after the learning period, and the MeshwardNewCaller alert it raises is
// shown from GET /alerts, the webhook and Alertmanager's API. Demo code, not part of the sidecar.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCertsCommand } from '../sidecar/cli/certs.js';
import { ALERTMANAGER_BIN, startAlertmanager, type Alertmanager } from '../integration/support/alertmanager.js';
import { echoClient, unary } from '../integration/support/grpc-clients.js';
import { WebhookSink } from '../integration/support/webhook-sink.js';

export const NEW_CALLER_ID = 'spiffe://cluster.local/ns/ops/sa/debug-shell';
const LEARN_FOR_MS = 2000;

export interface AlertDemo {
  /** The `alerts:` section of the sidecar config. */
  readonly configYaml: string;
  /** Makes the new call and shows the alert; returns [what, expected, got] rows. */
  run(sidecar: { inbound: string; admin: string }, readyAt: number): Promise<Array<[string, string, string]>>;
  close(): Promise<void>;
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startAlertDemo(dir: string, certs: string, caPem: string): Promise<AlertDemo> {
  const quiet = { out: () => undefined, err: (l: string) => console.error(l) };
  await runCertsCommand(['issue', '--ca-dir', certs, '--spiffe-id', NEW_CALLER_ID, '--out', join(certs, 'debug-shell')], quiet);
  const hook = await WebhookSink.start();
  const am: Alertmanager | undefined = existsSync(ALERTMANAGER_BIN) ? await startAlertmanager(join(dir, 'alertmanager')) : undefined;
  const configYaml = [
    'alerts:',
    ...(am === undefined ? [] : [`  alertmanager: { url: "${am.url}" }`]),
    `  webhook: { url: "${hook.url('/meshward')}" }`,
    `  learnFor: ${LEARN_FOR_MS}ms     # demo: baselines learn for 2 s (default 10m)`,
    '  evaluateEvery: 200ms',
    '',
  ].join('\n');
  const creds = { caPem, certPem: readFileSync(join(certs, 'debug-shell', 'tls.crt'), 'utf8'), keyPem: readFileSync(join(certs, 'debug-shell', 'tls.key'), 'utf8') };

  return {
    configYaml,
    async run(sidecar, readyAt) {
      const rows: Array<[string, string, string]> = [];
      console.log(`alerts: ${am === undefined ? 'no Alertmanager installed; ' : `Alertmanager at ${am.url}; `}webhook receiver at ${hook.url('/meshward')}`);
      // After the sidecar's learning period (which started before it was ready): a caller now is new.
      await until(async () => Date.now(), (t) => t >= readyAt + LEARN_FOR_MS + 100);
      const r = await unary(echoClient(sidecar.inbound, creds, { servername: 'orders' }), { message: 'just looking around' });
      console.log(`   ${NEW_CALLER_ID} calls meshward.demo.v1.Echo/Unary for the first time (allowed by ns/ops/*: status ${r.status})`);
      const view = await until(
        async () => (await (await fetch(`http://${sidecar.admin}/alerts`)).json()) as { alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string> }> },
        (v) => v.alerts.some((a) => a.labels.principal === NEW_CALLER_ID),
      );
      const alert = view?.alerts.find((a) => a.labels.principal === NEW_CALLER_ID);
      if (alert !== undefined) {
        console.log(`   GET http://${sidecar.admin}/alerts:`);
        console.log(`     labels      ${JSON.stringify(alert.labels)}`);
        console.log(`     summary     ${alert.annotations.summary}`);
        console.log(`     rule        ${alert.annotations.rule}`);
        console.log(`     first call  ${alert.annotations.first_seen} (${alert.annotations.first_outcome})`);
      }
      rows.push(['new caller → MeshwardNewCaller in /alerts', 'firing', alert === undefined ? 'none' : 'firing']);
      const got = await hook.waitFor((x) => x.body?.alerts?.some((a: any) => a.labels.principal === NEW_CALLER_ID), 'the new caller', 10_000).catch(() => undefined);
      rows.push(['  webhook got Alertmanager-format payload', 'version 4 firing', got === undefined ? 'nothing' : `version ${got.body.version} ${got.body.status}`]);
      if (am !== undefined) {
        const held = await until(() => am.alerts(), (as) => as.some((a) => a.labels.principal === NEW_CALLER_ID));
        rows.push(['  Alertmanager API v2 holds it', 'active', held?.find((a) => a.labels.principal === NEW_CALLER_ID)?.status.state ?? 'absent']);
      }
      return rows;
    },
    async close() {
      await Promise.all([hook.close(), am?.stop()]);
    },
  };
}
