// Two "pods" on loopback (issue 7): app A → sidecar A (outbound, plaintext) → mTLS →
// sidecar B (inbound) → app B. Sidecar A presents A's SVID and checks that the server is
// the route's SPIFFE ID; B's policy allows A for some methods only. Certificates rotate on
// both sides during a steady stream of calls, with zero failures.

import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { clientStream, closeAllClients, echoClient, serverStream, unary } from './support/grpc-clients.js';
import { freePort, splitHostPort } from './support/ports.js';
import { tlsProbe } from './support/raw-h2.js';
import { OtlpReceiver } from './support/otlp-receiver.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientId, clientTls, issueSvid, makePki, serverId, type PemFiles, type Pki } from './support/tls-fixtures.js';

const ORDERS = 'orders.shop.svc.cluster.local:50051';
const PAYMENTS = 'payments.shop.svc.cluster.local:50051'; // routed to B, but expecting another identity
const OK = 0;
const PERMISSION_DENIED = 7;
const UNAVAILABLE = 14;

let dir: string;
let pki: Pki;
let appB: EchoApp;
let sidecarA: SidecarProcess;
let sidecarB: SidecarProcess;
/** Where each sidecar reads its SVID from (copies, so rotation can rewrite them). */
let svidA: PemFiles;
let svidB: PemFiles;
let otlp: OtlpReceiver;

/** App A's client: plaintext to its own sidecar's outbound listener, addressed by authority. */
const appA = (authority = ORDERS) =>
  echoClient(sidecarA.outbound, 'insecure', { channelOptions: { 'grpc.default_authority': authority } });

async function copySvid(from: PemFiles, to: string): Promise<PemFiles> {
  await mkdir(to, { recursive: true });
  await copyFile(from.certFile, join(to, 'tls.crt'));
  await copyFile(from.keyFile, join(to, 'tls.key'));
  return { ...from, certFile: join(to, 'tls.crt'), keyFile: join(to, 'tls.key') };
}

/** Rewrites a sidecar's key and certificate the way a cert agent does: new files renamed into place. */
async function rotate(target: PemFiles, next: PemFiles): Promise<void> {
  await writeFile(target.keyFile + '.new', next.keyPem);
  await writeFile(target.certFile + '.new', next.certPem);
  const { rename } = await import('node:fs/promises');
  await rename(target.keyFile + '.new', target.keyFile);
  await rename(target.certFile + '.new', target.certFile);
}

/** SHA-256 of the certificate a fresh TLS connection to `address` is served. */
function servedCertHash(address: string): Promise<string> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, ca: pki.ca.certPem, cert: pki.client.certPem, key: pki.client.keyPem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
    s.once('secureConnect', () => {
      const hash = s.getPeerX509Certificate()!.fingerprint256;
      s.destroy();
      resolve(hash);
    });
    s.once('error', reject);
  });
}

const hashOf = (pem: string) => new X509Certificate(pem).fingerprint256;
const xfccHashOf = (pem: string) => hashOf(pem).replace(/:/g, '').toLowerCase();

async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 150; i++) {
    last = await probe();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what}: still ${JSON.stringify(last)}`);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-mesh-'));
  pki = await makePki(join(dir, 'pki'));
  svidA = await copySvid(pki.client, join(dir, 'a-certs')); // frontend
  svidB = await copySvid(pki.server, join(dir, 'b-certs')); // orders
  await mkdir(join(dir, 'next'));
  appB = await startEchoApp();
  otlp = await OtlpReceiver.start();
  // Both sidecars export spans to one collector, quickly; nothing from the runner's OTEL_*.
  const env: Record<string, string> = { OTEL_BSP_SCHEDULE_DELAY: '20', MESHWARD_LOG_LEVEL: process.env.MESH_DEBUG ? 'debug' : 'info' };
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) env[key] = '';
  const telemetry = (name: string) => `telemetry: { serviceName: ${name}, otlp: { endpoint: "${otlp.endpoint}" } }`;

  await mkdir(join(dir, 'b-policies'));
  await writeFile(
    join(dir, 'b-policies', 'orders.yaml'),
    `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: orders }
spec:
  grpc:
    - methods: ["meshward.demo.v1.Echo/Unary", "meshward.demo.v1.Echo/ServerStream"]
      allow: [ { principals: ["${clientId()}"] } ]
`,
  );
  const configB = await writeSidecarConfig(join(dir), { appPort: appB.port, pki, svid: svidB, fileName: 'b.yaml', extra: `policies: [b-policies/]\n${telemetry('orders')}` });
  sidecarB = await startSidecar(configB, { env });

  const configA = await writeSidecarConfig(dir, {
    appPort: await freePort(), // app A's inbound side is not used here
    pki,
    svid: svidA,
    fileName: 'a.yaml',
    extra: [
      'outbound:',
      '  listen: 127.0.0.1:0',
      '  routes:',
      `    - { authority: "${ORDERS}", address: "${sidecarB.inbound}", identity: "${serverId()}" }`,
      `    - { authority: "${PAYMENTS}", address: "${sidecarB.inbound}", identity: "spiffe://cluster.local/ns/shop/sa/payments" }`,
      telemetry('frontend'),
    ].join('\n'),
  });
  sidecarA = await startSidecar(configA, { env });
  assert.match(sidecarA.outbound, /^127\.0\.0\.1:\d+$/);
});

after(async () => {
  closeAllClients();
  await stopAll();
  await otlp?.close();
  await appB?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('A calls B through both sidecars', () => {
  test("unary: B's app sees A's SPIFFE ID, asserted by B's sidecar", async () => {
    const before = appB.calls.length;
    const r = await unary(appA(), { message: 'from A' });
    assert.equal(r.status, OK, r.details);
    assert.equal(r.reply?.message, 'from A');
    const seen = appB.calls.slice(before).at(-1);
    assert.equal(seen?.metadata['x-meshward-principal'], clientId());
    assert.equal(seen?.headers[':authority'], ORDERS);
    assert.match(String(seen?.metadata['x-forwarded-client-cert']), new RegExp(`Hash=${xfccHashOf(svidA.certPem)};`));
  });

  test("one trace: app A's span → A's CLIENT span → B's SERVER span → app B", async () => {
    const traceId = randomBytes(16).toString('hex');
    const appSpan = randomBytes(8).toString('hex');
    const r = await unary(appA(), { message: 'traced' }, { metadata: { traceparent: `00-${traceId}-${appSpan}-01`, 'x-test-marker': 'mesh-trace' } });
    assert.equal(r.status, OK, r.details);
    const spans = await otlp.waitForSpans((x) => x.traceId === traceId, 2);
    const client = spans.find((x) => x.kind === 3);
    const server = spans.find((x) => x.kind === 2);
    assert.ok(client && server, JSON.stringify(spans.map((x) => [x.name, x.kind])));
    assert.equal(client.parentSpanId, appSpan, "A's CLIENT span is the child of app A's span");
    assert.equal(client.resource['service.name'], 'frontend');
    assert.equal(client.name, 'meshward.demo.v1.Echo/Unary');
    assert.equal(server.parentSpanId, client.spanId, "B's SERVER span is the child of A's CLIENT span");
    assert.equal(server.resource['service.name'], 'orders');
    assert.equal(server.attributes['meshward.decision'], 'allow');
    assert.equal(server.attributes['meshward.principal'], clientId());
    const seen = appB.calls.find((c) => c.metadata['x-test-marker'] === 'mesh-trace');
    assert.equal(seen?.metadata.traceparent, `00-${traceId}-${server.spanId}-01`, "app B's parent is B's SERVER span");
  });

  test('server streaming crosses both hops', async () => {
    const r = await serverStream(appA(), { count: 20, payloadSize: 4096 });
    assert.equal(r.status, OK, r.details);
    assert.equal(r.bytes, 20 * 4096);
  });

  test("B's policy denies A a method: 7, and B's app never sees it", async () => {
    const before = appB.calls.length;
    const r = await clientStream(appA(), [{ message: 'no' }]);
    assert.equal(r.status, PERMISSION_DENIED);
    assert.equal(appB.calls.length, before);
  });

  test('an authority without a route → 14 with a clear message', async () => {
    const r = await unary(appA('inventory.shop.svc.cluster.local:50051'), { message: 'x' });
    assert.equal(r.status, UNAVAILABLE);
    assert.match(r.details, /no outbound route/);
  });

  test("a remote sidecar that is not the route's identity → 14, nothing reaches B's app", async () => {
    const before = appB.calls.length;
    const r = await unary(appA(PAYMENTS), { message: 'to the wrong pod' });
    assert.equal(r.status, UNAVAILABLE);
    assert.equal(appB.calls.length, before);
    await sidecarA.waitForStderr((_l, j) => /upstream connection failed/.test(String(j?.msg)) && /payments/.test(String(j?.error)));
  });

  test('a workload from another CA cannot connect to B', async () => {
    const probe = await tlsProbe(sidecarB.inbound, clientTls(pki, pki.otherCaClient));
    assert.equal(probe.accepted, false);
  });
});

describe('certificate rotation', () => {
  test('both sides rotate during steady calls: zero failures, new handshakes use the new certificates', async () => {
    let stop = false;
    let calls = 0;
    const failures: string[] = [];
    const client = appA();
    const load = Promise.all(
      [0, 1].map(async () => {
        while (!stop && calls < 20_000) {
          const r = await unary(client, { message: 'steady' });
          calls++;
          if (r.status !== OK) failures.push(`${r.status} ${r.details}`);
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 300));

    const nextB = await issueSvid(join(dir, 'next'), 'b', pki.ca, { spiffeId: serverId() });
    const nextA = await issueSvid(join(dir, 'next'), 'a', pki.ca, { spiffeId: clientId() });
    await rotate(svidB, nextB);
    await rotate(svidA, nextA);

    // B serves the new certificate on new connections.
    await waitFor('B serves the new certificate', () => servedCertHash(sidecarB.inbound), (h) => h === hashOf(nextB.certPem));
    // A presents its new certificate on new connections (B's app sees its hash).
    await waitFor(
      "B's app sees A's new certificate",
      async () => {
        await unary(client, { message: 'after rotation' });
        return String(appB.calls.at(-1)?.metadata['x-forwarded-client-cert']);
      },
      (xfcc) => xfcc.includes(`Hash=${xfccHashOf(nextA.certPem)};`),
    );
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    assert.ok(calls >= 10, `calls during rotation: ${calls}`);
    if (failures.length > 0 && process.env.MESH_DEBUG) {
      console.log('A:', sidecarA.stderrLines.filter((l) => /failed|rotat|error/.test(l)).join('\n'));
      console.log('B:', sidecarB.stderrLines.filter((l) => /failed|rotat|error/.test(l)).join('\n'));
    }
    assert.deepEqual(failures, [], 'no call failed during rotation');
    await sidecarB.waitForStderr((_l, j) => j?.msg === 'certificates rotated');
  });

  test('a key that does not match the certificate is rejected; the old pair stays in use', async () => {
    const served = await servedCertHash(sidecarB.inbound);
    const stranger = await issueSvid(join(dir, 'next'), 'stranger', pki.ca, { spiffeId: serverId() });
    await writeFile(svidB.keyFile, stranger.keyPem); // the key of another certificate
    await sidecarB.waitForStderr((_l, j) => j?.msg === 'certificate rotation rejected; keeping the current certificate');
    assert.equal(await servedCertHash(sidecarB.inbound), served);
    const r = await unary(appA(), { message: 'still fine' });
    assert.equal(r.status, OK, r.details);
  });
});
