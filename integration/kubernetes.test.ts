// Sidecar injection end to end: the injector's real HTTPS server (dev certificates, port 0)
// answering AdmissionReviews, its patch compared with the built `meshward inject` CLI on
// the same workloads; bad and slow requests; certificate reload; the chart's `helm test`
// script against it; the built `meshward injector` process; the Dockerfile.
// (The chart itself: integration/helm-chart.test.ts.)

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../demo/repo-root.js';
import { setLogLevel } from '../sidecar/core/log.js';
import { createDevCa, issueWorkloadCert, type PemPair } from '../sidecar/identity/dev-ca.js';
import { defaultInjectionOptions } from '../sidecar/inject/injection-options.js';
import { planInjection } from '../sidecar/inject/inject-pod.js';
import { parseInjectorConfig } from '../sidecar/inject/injector-config.js';
import { startWebhookServer, type WebhookServer } from '../sidecar/inject/webhook-server.js';
import { helmTemplate } from './support/helm.js';
import { meshwardCli, startSidecar } from './support/sidecar-process.js';

const workloadsFile = join(repoRoot, 'sidecar', 'inject', 'testdata', 'workloads.yaml');

let dir: string;
let ca: PemPair;
let server: WebhookServer;
let port: number;

async function writeServerCert(): Promise<PemPair> {
  const pair = await issueWorkloadCert({ ca, uris: [], dnsNames: ['localhost', 'meshward-injector.meshward-system.svc'] });
  writeFileSync(join(dir, 'tls.crt'), pair.certPem);
  writeFileSync(join(dir, 'tls.key'), pair.keyPem, { mode: 0o600 });
  return pair;
}

function injectorConfigText(listen = '127.0.0.1:0'): string {
  return `apiVersion: meshward.dev/v1alpha1
kind: Injector
listen: ${listen}
tls: { certFile: tls.crt, keyFile: tls.key, reloadInterval: 1h }
failurePolicy: Fail
excludeNamespaces: [kube-system, meshward-system]
limits: { maxBodyBytes: 256Ki, requestTimeout: 2s }
`;
}

before(async () => {
  setLogLevel('error'); // the in-process injector logs every admission
  dir = mkdtempSync(join(tmpdir(), 'meshward-k8s-'));
  ca = await createDevCa({ trustDomain: 'injector.test' });
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  await writeServerCert();
  writeFileSync(join(dir, 'injector.yaml'), injectorConfigText());
  server = await startWebhookServer(parseInjectorConfig(injectorConfigText(), join(dir, 'injector.yaml')));
  port = server.address.port;
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

function request(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}, targetPort = port): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: targetPort, servername: 'localhost', ca: ca.certPem, method, path, headers, agent: false, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };

function admissionReview(object: unknown, namespace: string, uid = 'uid-1'): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace,
      operation: 'CREATE',
      object,
    },
  });
}

/** What the injector does to `pod`: its patch applied with fast-json-patch. */
async function webhookInject(pod: Record<string, any>, namespace: string): Promise<Record<string, any>> {
  const reply = await request('POST', '/inject?timeout=10s', admissionReview(pod, namespace), json);
  assert.equal(reply.status, 200, reply.body);
  const response = JSON.parse(reply.body).response;
  assert.equal(response.allowed, true, reply.body);
  assert.equal(response.patchType, 'JSONPatch');
  const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as jsonpatch.Operation[];
  return jsonpatch.applyPatch(structuredClone(pod), ops, true, false).newDocument;
}

function cliInject(text: string, args: string[] = []): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [meshwardCli, 'inject', ...args], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs node with `args`; resolves with the exit code and output (SIGKILL after 20 s). */
function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function templatePath(kind: string): string[] {
  return kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template'];
}

function at(obj: any, path: string[]): any {
  return path.reduce((o, k) => o?.[k], obj);
}

test('the webhook injects exactly what `meshward inject` does, for every workload kind', async () => {
  const text = readFileSync(workloadsFile, 'utf8');
  const cli = cliInject(text);
  assert.equal(cli.code, 0, cli.stderr);
  const before = parseAllDocuments(text).map((d) => d.toJS());
  const after = parseAllDocuments(cli.stdout).map((d) => d.toJS());
  let compared = 0;
  for (const [i, original] of before.entries()) {
    if (!['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(original.kind)) continue;
    // The API server sends the webhook the pod the controller makes from the template.
    const template = at(original, templatePath(original.kind));
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, generateName: `${original.metadata.name}-` }, spec: template.spec };
    const injected = await webhookInject(pod, original.metadata.namespace);
    new Pod(injected).validate();
    const fromCli = at(after[i], templatePath(original.kind));
    assert.deepEqual(injected.spec, fromCli.spec, `${original.kind}: spec`);
    assert.deepEqual(injected.metadata.annotations, fromCli.metadata.annotations, `${original.kind}: annotations`);
    compared++;
  }
  assert.equal(compared, 5);

  // A bare Pod, through both.
  const podYaml = 'apiVersion: v1\nkind: Pod\nmetadata: {name: solo, namespace: shop, annotations: {meshward.dev/mtls: permissive}}\nspec: {containers: [{name: app, image: app:1, ports: [{containerPort: 3000}]}]}\n';
  const podCli = cliInject(podYaml);
  assert.equal(podCli.code, 0, podCli.stderr);
  const pod = parseAllDocuments(podYaml)[0]!.toJS();
  assert.deepEqual(await webhookInject(pod, 'shop'), parseAllDocuments(podCli.stdout)[0]!.toJS());
});

test('the config an injected pod gets runs the real sidecar, with no policies ConfigMap yet', async () => {
  const plan = planInjection(
    { metadata: { labels: { app: 'orders' } }, spec: { containers: [{ name: 'orders', image: 'orders:1', ports: [{ containerPort: 50051 }] }] } },
    { namespace: 'shop' },
    defaultInjectionOptions(),
  );
  assert.equal(plan.action, 'inject');
  const annotations = plan.action === 'inject' ? (plan.patch.find((op) => op.path === '/metadata/annotations')?.value as Record<string, string>) : {};
  // The pod's volumes, as files here: the CSI driver's three files, an empty optional ConfigMap.
  const pod = join(dir, 'pod');
  const certs = join(pod, 'certs');
  const policies = join(pod, 'policies');
  mkdirSync(certs, { recursive: true });
  mkdirSync(policies, { recursive: true });
  const podCa = await createDevCa({ trustDomain: 'cluster.local' });
  const svid = await issueWorkloadCert({ ca: podCa, spiffeId: 'spiffe://cluster.local/ns/shop/sa/orders' });
  writeFileSync(join(certs, 'tls.crt'), svid.certPem);
  writeFileSync(join(certs, 'tls.key'), svid.keyPem, { mode: 0o600 });
  writeFileSync(join(certs, 'ca.crt'), podCa.certPem);
  const config = annotations['meshward.dev/config']!
    .replaceAll('/var/run/secrets/meshward', certs)
    .replaceAll('/etc/meshward/policies', policies)
    .replace('listen: 0.0.0.0:7443', 'listen: 127.0.0.1:0')
    .replace('listen: 0.0.0.0:7000', 'listen: 127.0.0.1:0');
  writeFileSync(join(pod, 'sidecar.yaml'), config);
  const sidecar = await startSidecar(join(pod, 'sidecar.yaml'));
  try {
    const status = await new Promise<Record<string, unknown>>((resolve, reject) => {
      httpGet(`http://${sidecar.admin}/policies`, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
      }).on('error', reject);
    });
    assert.deepEqual(status.sources, []);
  } finally {
    assert.equal(await sidecar.stop(), 0);
  }
});

test('pods not to inject and pods the injector cannot handle', async () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a' }] } };
  const answer = async (object: unknown, namespace: string) =>
    JSON.parse((await request('POST', '/inject', admissionReview(object, namespace, 'u-2'), json)).body).response;
  const system = await answer(pod, 'kube-system');
  assert.deepEqual(system, { uid: 'u-2', allowed: true });
  const refused = await answer({ ...pod, metadata: { name: 'p', annotations: { 'meshward.dev/app-port': '99999' } } }, 'shop');
  assert.equal(refused.allowed, false);
  assert.match(refused.status.message, /meshward\.dev\/app-port: expected a port from 1 to 65535, got "99999"/);
});

test('bad requests get an HTTP error, and the server keeps serving', async () => {
  const healthy = async () => assert.equal((await request('GET', '/healthz')).status, 200);
  assert.equal((await request('POST', '/inject', admissionReview({}, 'shop'), { 'content-type': 'text/plain' })).status, 415);
  assert.equal((await request('GET', '/inject')).status, 405);
  assert.equal((await request('GET', '/mutate')).status, 404);
  assert.equal((await request('POST', '/inject', '{not json', json)).status, 400);
  assert.equal((await request('POST', '/inject', JSON.stringify({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1' }), json)).status, 400);
  await healthy();
  // Larger than limits.maxBodyBytes (256 KiB): refused by Content-Length, and when streamed.
  const big = Buffer.alloc(300 * 1024, 0x20);
  assert.equal((await request('POST', '/inject', big, json)).status, 413);
  assert.equal((await request('POST', '/inject', big, { ...json, 'transfer-encoding': 'chunked' })).status, 413);
  await healthy();
  assert.equal((await request('GET', '/readyz')).status, 200);
  // Garbage instead of a TLS handshake does not hurt either.
  await new Promise<void>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    socket.resume(); // read the server's 400, so its close is seen
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.on('secureConnect', () => socket.end('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n'));
  });
  await healthy();
});

test('a client that stops sending is cut off after the request timeout', async () => {
  const started = Date.now();
  const closed = await new Promise<string>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.certPem }, () => {
      socket.write('POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":');
    });
    let reply = '';
    socket.on('data', (d) => (reply += d.toString()));
    socket.on('close', () => resolve(reply));
    socket.on('error', () => undefined);
    setTimeout(() => socket.destroy(), 15_000).unref();
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1_500 && elapsed < 8_000, `closed after ${elapsed} ms`);
  assert.match(closed, /^$|^HTTP\/1\.1 408/);
  assert.equal((await request('GET', '/healthz')).status, 200);
});

test('a renewed certificate is served without a restart; a broken one is not', async () => {
  const served = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.certPem }, () => {
        resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
        socket.end();
      });
      socket.on('error', reject);
    });
  const first = await served();
  const renewed = await writeServerCert();
  assert.equal(server.reloadTls(), true);
  const second = await served();
  assert.notEqual(second, first);
  assert.equal(second, new X509Certificate(renewed.certPem).serialNumber);
  // A key that does not match the certificate: kept the current one.
  const other = await issueWorkloadCert({ ca, uris: [], dnsNames: ['localhost'] });
  writeFileSync(join(dir, 'tls.key'), other.keyPem);
  assert.equal(server.reloadTls(), false);
  assert.equal(await served(), second);
  writeFileSync(join(dir, 'tls.key'), renewed.keyPem);
  assert.equal(server.reloadTls(), false); // unchanged files: nothing to do
});

test("the chart's `helm test` script passes against the injector", async () => {
  const [testPod] = helmTemplate('mw', 'meshward-system', ['--show-only', 'templates/tests/injector-test.yaml']);
  const container = testPod!.spec.containers[0];
  assert.deepEqual(container.command, ['node', '-e']);
  const script = container.args[0] as string;
  // Asynchronously: the injector under test runs in this process.
  const env = { ...process.env, INJECTOR_HOST: '127.0.0.1', INJECTOR_PORT: String(port), INJECTOR_SERVERNAME: 'localhost', INJECTOR_CA: join(dir, 'ca.crt') };
  const r = await runNode(['-e', script], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok: the injector answered with a \d+-operation patch adding meshward/);
  // Trusting another CA, the script fails.
  const other = await createDevCa({ trustDomain: 'other.test' });
  writeFileSync(join(dir, 'other-ca.crt'), other.certPem);
  const wrongCa = await runNode(['-e', script], { ...env, INJECTOR_CA: join(dir, 'other-ca.crt') });
  assert.equal(wrongCa.code, 1);
  assert.match(wrongCa.stderr, /request failed/);
});

test('`meshward injector`: ready, answers, drains on SIGTERM (exit 0); bad config exits 2, unreadable certificate 1', async () => {
  const proc = spawn(process.execPath, [meshwardCli, 'injector', '--config', join(dir, 'injector.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ready = await new Promise<Record<string, any>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 10 s:\n${stderr}`)), 10_000);
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const line of stderr.split('\n')) {
        if (!line.includes('meshward injector ready')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line));
        return;
      }
    });
    void exited.then((code) => reject(new Error(`exited ${code}:\n${stderr}`)));
  });
  try {
    const childPort = Number(String(ready.listen).split(':').pop());
    assert.equal((await request('GET', '/healthz', undefined, {}, childPort)).status, 200);
    const reply = await request('POST', '/inject', admissionReview({ metadata: { name: 'x' }, spec: { containers: [{ name: 'a', image: 'a' }] } }, 'shop'), json, childPort);
    assert.equal(JSON.parse(reply.body).response.patchType, 'JSONPatch');
    await new Promise((r) => setTimeout(r, 50)); // the admission log line
    assert.match(stderr, /"msg":"admission".*"result":"injected"/);
  } finally {
    proc.kill('SIGTERM');
  }
  assert.equal(await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]), 0);

  const runOnce = (configText: string) => {
    const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, configText);
    return spawnSync(process.execPath, [meshwardCli, 'injector', '--config', file], { encoding: 'utf8', timeout: 20_000 });
  };
  const invalid = runOnce(injectorConfigText().replace('failurePolicy: Fail', 'failurePolicy: Maybe'));
  assert.equal(invalid.status, 2);
  assert.match(invalid.stderr, /config-\w+\.yaml:5:16: \/failurePolicy: expected one of Fail, Ignore, got "Maybe"/);
  const noCert = runOnce(injectorConfigText().replace('certFile: tls.crt', 'certFile: missing.crt'));
  assert.equal(noCert.status, 1);
  assert.match(noCert.stderr, /injector startup failed.*missing\.crt/);
  assert.equal(spawnSync(process.execPath, [meshwardCli, 'injector'], { encoding: 'utf8' }).status, 2);
});

test('the Dockerfile: Node 24 slim, production dependencies, non-root, and what it copies exists and runs', () => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const lines = dockerfile.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-slim$/m);
  assert.equal(lines.filter((l) => l.startsWith('FROM ')).length, 3, 'multi-stage');
  assert.match(dockerfile, /npm ci --omit=dev/);
  assert.match(dockerfile, /^USER 65532:65532$/m);
  // Node 24's young generation capped at Node 20's size (docs/kubernetes.md "Memory").
  assert.match(dockerfile, /^ENV NODE_OPTIONS=--max-semi-space-size=16$/m);
  // Every COPY from the build context names a file or folder of the repository.
  for (const line of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
    const sources = line.split(/\s+/).slice(1, -1);
    for (const s of sources) assert.ok(existsSync(join(repoRoot, s)), `${line}: ${s} exists`);
  }
  const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
  for (const entry of ['node_modules', 'dist', '.git', '**/*.key']) assert.ok(ignored.includes(entry), `.dockerignore: ${entry}`);

  // The runtime image's layout: /app/dist/sidecar, /app/package.json, /app/node_modules.
  const entry = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(dockerfile)![1]!) as string[];
  assert.deepEqual(entry, ['node', '/app/dist/sidecar/cli/meshward.js']);
  const app = mkdtempSync(join(tmpdir(), 'meshward-image-'));
  try {
    cpSync(join(repoRoot, 'dist', 'sidecar'), join(app, 'dist', 'sidecar'), { recursive: true });
    cpSync(join(repoRoot, 'package.json'), join(app, 'package.json'));
    symlinkSync(join(repoRoot, 'node_modules'), join(app, 'node_modules'));
    const cli = join(app, 'dist', 'sidecar', 'cli', 'meshward.js');
    const help = spawnSync(process.execPath, [cli, '--help'], { cwd: app, encoding: 'utf8', timeout: 20_000 });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /injector --config FILE/);
    const injected = spawnSync(process.execPath, [cli, 'inject'], { cwd: app, input: readFileSync(workloadsFile), encoding: 'utf8', timeout: 20_000 });
    assert.equal(injected.status, 0, injected.stderr);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }

  // Only production dependencies reach the image: every package the compiled sidecar
  // imports is in "dependencies", and nothing imports from outside dist/sidecar.
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const imported = new Set<string>();
  const walk = (folder: string): void => {
    for (const e of readdirSync(folder, { withFileTypes: true })) {
      const p = join(folder, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) {
        const source = readFileSync(p, 'utf8');
        const specifiers = [
          ...source.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm), // import x from 'm'
          ...source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm), // import 'm'
          ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g), // import('m')
        ].map((m) => m[1]!);
        for (const spec of specifiers) {
          if (spec.startsWith('node:')) continue;
          assert.ok(!spec.startsWith('../../../') && !/\.\.\/(demo|integration)\//.test(spec), `${p} imports ${spec}`);
          if (spec.startsWith('.')) continue;
          imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        }
      }
    }
  };
  walk(join(repoRoot, 'dist', 'sidecar'));
  for (const name of imported) assert.ok(name in pkg.dependencies, `${name} is a production dependency`);
  assert.ok(imported.has('kubernetes-models') || imported.has('yaml'));
});
