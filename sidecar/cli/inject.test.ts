// `meshward inject`: input from a file or stdin, --config and --sidecar-mode, exit codes,
// and nothing on stdout when the input is bad.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { runInjectCommand } from './inject.js';

let dir: string;
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}]
`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-inject-'));
  await writeFile(join(dir, 'web.yaml'), deployment);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  const err: string[] = [];
  const code = await runInjectCommand(argv, { out: (t) => void (out += t), err: (l) => err.push(l), readStdin: async () => stdin });
  return { code, out, err: err.join('\n') };
}

function podSpecOf(out: string): Record<string, any> {
  const [doc] = parseAllDocuments(out).map((d) => d.toJS() as Record<string, any>);
  return doc!.spec.template.spec;
}

test('a file in, the injected manifests out, a summary on stderr', async () => {
  const r = await run(['-f', join(dir, 'web.yaml')]);
  assert.equal(r.code, 0, r.err);
  assert.equal(podSpecOf(r.out).initContainers[0].name, 'meshward');
  assert.match(r.err, /1 injected, 0 skipped/);
  // stdin gives the same result.
  const fromStdin = await run([], deployment);
  assert.equal(fromStdin.code, 0);
  assert.equal(fromStdin.out, r.out);
  assert.equal((await run(['-f', '-'], deployment)).out, r.out);
});

test('--sidecar-mode and --config choose what is injected', async () => {
  const container = await run(['-f', join(dir, 'web.yaml'), '--sidecar-mode', 'container']);
  assert.equal(container.code, 0, container.err);
  assert.deepEqual(podSpecOf(container.out).containers.map((c: any) => c.name), ['web', 'meshward']);

  const config = join(dir, 'injector.yaml');
  await writeFile(
    config,
    `apiVersion: meshward.dev/v1alpha1
kind: Injector
tls: { certFile: tls.crt, keyFile: tls.key }   # not read by meshward inject
injection:
  image: registry.example.com/meshward:9.9.9
  trustDomain: prod.example.com
`,
  );
  const configured = await run(['-f', join(dir, 'web.yaml'), '--config', config]);
  assert.equal(configured.code, 0, configured.err);
  const spec = podSpecOf(configured.out);
  assert.equal(spec.initContainers[0].image, 'registry.example.com/meshward:9.9.9');
  assert.match(configured.out, /trustDomain: prod\.example\.com/);

  await writeFile(config, 'apiVersion: meshward.dev/v1alpha1\nkind: Injector\ntls: { certFile: a, keyFile: b }\ninjection: { sidecarMode: old }\n');
  const invalid = await run(['-f', join(dir, 'web.yaml'), '--config', config]);
  assert.equal(invalid.code, 1);
  assert.equal(invalid.out, '');
  assert.match(invalid.err, /injector\.yaml:4:27: \/injection\/sidecarMode: expected one of native, container, got "old"/);
});

test('bad input: exit 1 and nothing on stdout', async () => {
  const missing = await run(['-f', join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 1);
  assert.equal(missing.out, '');
  assert.match(missing.err, /cannot read .*nope\.yaml/);

  const broken = await run([], 'kind: Pod\nspec: {containers: [\n');
  assert.equal(broken.code, 1);
  assert.equal(broken.out, '');
  assert.match(broken.err, /^<stdin>:\d+:\d+: invalid YAML/);

  const annotated = await run([], deployment.replace('metadata: {labels: {app: web}}', 'metadata: {labels: {app: web}, annotations: {meshward.dev/mtls: off}}'));
  assert.equal(annotated.code, 1);
  assert.equal(annotated.out, '');
  assert.match(annotated.err, /Deployment\/web: annotation meshward\.dev\/mtls: expected one of strict, permissive, got "off"/);
});

test('usage errors exit 2; --help exits 0', async () => {
  assert.equal((await run(['--sidecar-mode', 'sideways'])).code, 2);
  assert.equal((await run(['--nope'])).code, 2);
  assert.equal((await run(['extra'])).code, 2);
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /meshward inject \[-f FILE\]/);
});
