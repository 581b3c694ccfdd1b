// A sidecar with traffic to look at, for the tap / top / dashboard tests: the echo app, a
// policy that allows one method, refuses another (no_allow_match) and rate-limits a third
// (1 call an hour), tracing at 100% to a local OTLP receiver (so calls have trace ids), and
// `drive()` to make calls of each kind. Test support, not part of the sidecar.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoApp, type EchoApp } from '../../demo/echo-app.js';
import { writeSidecarConfig } from './config-fixtures.js';
import { adminClient, closeAllClients, echoClient, ping, serverStream, unary } from './grpc-clients.js';
import { OtlpReceiver } from './otlp-receiver.js';
import { startSidecar, type SidecarProcess } from './sidecar-process.js';
import { clientTls, makePki, type Pki } from './tls-fixtures.js';

export const ALLOWED_METHOD = 'meshward.demo.v1.Echo/Unary';
export const LIMITED_METHOD = 'meshward.demo.v1.Echo/ServerStream';
export const DENIED_METHOD = 'meshward.demo.v1.Admin/Ping';
export const JAEGER_URL = 'http://jaeger.example:16686';

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: traffic }
spec:
  grpc:
    - methods: ["${ALLOWED_METHOD}"]
      allow: [ { principals: ["spiffe://cluster.local/ns/web/sa/frontend"] } ]
    - methods: ["${LIMITED_METHOD}"]
      allow: [ { principals: ["spiffe://cluster.local/ns/web/sa/frontend"] } ]
      rateLimit: { requests: 1, per: 1h, by: principal }
    - methods: ["${DENIED_METHOD}"]
      allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
`;

export interface TrafficFixture {
  readonly dir: string;
  /** The watched policy folder (traffic.yaml). */
  readonly policyDir: string;
  readonly pki: Pki;
  readonly app: EchoApp;
  readonly sidecar: SidecarProcess;
  readonly adminUrl: string;
  /** `allowed` Unary calls, `denied` Ping calls and `limited` + 1 ServerStream calls (the first passes). */
  drive(counts: { allowed?: number; denied?: number; limited?: number; connections?: number }): Promise<void>;
  close(): Promise<void>;
}

export interface TrafficOptions {
  /** Raw YAML appended to the sidecar config (e.g. `workers: 2`). */
  readonly extra?: string;
  readonly adminListen?: string;
  readonly adminAllow?: string[];
}

export async function startTrafficFixture(name: string, opts: TrafficOptions = {}): Promise<TrafficFixture> {
  const dir = await mkdtemp(join(tmpdir(), `meshward-${name}-`));
  const policyDir = join(dir, 'policies');
  await mkdir(policyDir);
  await writeFile(join(policyDir, 'traffic.yaml'), POLICY);
  const pki = await makePki(join(dir, 'pki'));
  const app = await startEchoApp();
  const otlp = await OtlpReceiver.start();
  const config = await writeSidecarConfig(dir, {
    appPort: app.port,
    pki,
    adminListen: opts.adminListen,
    adminAllow: opts.adminAllow,
    extra: [
      'policies: [policies/]',
      `audit: { file: ${JSON.stringify(join(dir, 'audit.log'))} }`,
      'telemetry:',
      '  serviceName: orders',
      `  otlp: { endpoint: ${JSON.stringify(otlp.endpoint)}, protocol: http/protobuf }`,
      '  sampling: 1.0',
      `  jaegerUrl: ${JAEGER_URL}`,
      opts.extra ?? '',
    ].join('\n'),
  });
  const sidecar = await startSidecar(config, { timeoutMs: 20_000 });
  const creds = clientTls(pki, pki.client);
  const echo = echoClient(sidecar.inbound, creds, { servername: 'orders' });
  const admin = adminClient(sidecar.inbound, creds, { servername: 'orders' });
  return {
    dir,
    policyDir,
    pki,
    app,
    sidecar,
    adminUrl: `http://${sidecar.admin}`,
    async drive(counts) {
      const calls: Promise<unknown>[] = [];
      // `connections` > 1: the allowed calls go over that many new connections (workers take turns).
      const extra = Array.from({ length: Math.max(0, (counts.connections ?? 1) - 1) }, () => echoClient(sidecar.inbound, creds, { servername: 'orders' }));
      const clients = [echo, ...extra];
      for (let i = 0; i < (counts.allowed ?? 0); i++) calls.push(unary(clients[i % clients.length]!, { message: `hello ${i}` }));
      for (let i = 0; i < (counts.denied ?? 0); i++) calls.push(ping(admin, {}));
      if ((counts.limited ?? 0) > 0) for (let i = 0; i <= counts.limited!; i++) calls.push(serverStream(echo, { message: 'n', count: 1 }));
      await Promise.all(calls);
    },
    async close() {
      closeAllClients();
      await sidecar.stop();
      await app.close();
      await otlp.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
