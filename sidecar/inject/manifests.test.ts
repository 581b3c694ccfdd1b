// injectManifests (what `meshward inject` does to a YAML stream): every workload kind,
// Lists, documents left alone byte for byte, comments kept, idempotence, refusals.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { Pod, type IPodTemplateSpec } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { defaultInjectionOptions, injectionOptionsSchema } from './injection-options.js';
import { planInjection } from './inject-pod.js';
import { injectManifests } from './manifests.js';

const testdata = join(import.meta.dirname, 'testdata');
const workloads = readFileSync(join(testdata, 'workloads.yaml'), 'utf8');
const skipped = readFileSync(join(testdata, 'skipped.yaml'), 'utf8');
const defaults = defaultInjectionOptions();

function run(text: string, options = defaults) {
  const result = injectManifests(text, 'in.yaml', options);
  assert.ok(result.ok, result.ok ? '' : result.problems.join('\n'));
  return result;
}

function documents(text: string): Record<string, any>[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, any>);
}

const VALIDATORS: Record<string, (obj: any) => void> = {
  Deployment: (o) => new Deployment(o).validate(),
  StatefulSet: (o) => new StatefulSet(o).validate(),
  DaemonSet: (o) => new DaemonSet(o).validate(),
  Job: (o) => new Job(o).validate(),
  CronJob: (o) => new CronJob(o).validate(),
  Pod: (o) => new Pod(o).validate(),
};

function templateOf(obj: Record<string, any>): IPodTemplateSpec {
  return obj.kind === 'CronJob' ? obj.spec.jobTemplate.spec.template : obj.kind === 'Pod' ? obj : obj.spec.template;
}

test('every workload kind gets the sidecar; other documents are copied byte for byte', () => {
  const result = run(workloads);
  assert.deepEqual(
    result.injected.map((l) => l.replace(/^in\.yaml:\d+:\d+: /, '')),
    ['Deployment/orders', 'StatefulSet/ledger', 'DaemonSet/node-agent', 'Job/migrate', 'CronJob/report'],
  );
  const before = documents(workloads);
  const after = documents(result.output);
  assert.equal(after.length, before.length);
  after.forEach((doc, i) => {
    const original = before[i]!;
    const validate = VALIDATORS[doc.kind];
    if (validate === undefined) {
      assert.deepEqual(doc, original, `${doc.kind} untouched`);
      return;
    }
    validate(doc);
    // The template is exactly what planInjection's patch makes of the original template.
    const plan = planInjection(templateOf(original), { namespace: original.metadata.namespace }, defaults);
    assert.equal(plan.action, 'inject');
    const expected = jsonpatch.applyPatch(structuredClone(templateOf(original)), structuredClone(plan.action === 'inject' ? plan.patch : []) as jsonpatch.Operation[]).newDocument;
    assert.deepEqual(templateOf(doc), expected, doc.kind);
    // Outside the template nothing changed.
    const strip = (o: Record<string, any>) => JSON.stringify(o, (k, v) => (k === 'template' ? undefined : v));
    assert.equal(strip(doc), strip(original));
    assert.equal(templateOf(doc).spec?.initContainers?.[0]?.name, 'meshward', doc.kind);
  });
  // The DaemonSet's own init container and volume stay, after meshward's.
  const ds = after.find((d) => d.kind === 'DaemonSet')!;
  assert.deepEqual(ds.spec.template.spec.initContainers.map((c: any) => c.name), ['meshward', 'setup']);
  assert.equal(ds.spec.template.spec.volumes[0].name, 'data');

  // Comments and the untouched documents survive as written.
  for (const comment of ['# Every workload kind', '# the orders service', '# gRPC', '# the app listens on loopback only', "# callers reach meshward's inbound port"]) {
    assert.ok(result.output.includes(comment), comment);
  }
  const service = workloads.slice(workloads.indexOf('---\napiVersion: v1\nkind: Service'));
  assert.ok(result.output.endsWith(service), 'the Service document is byte-identical');
  assert.ok(result.output.startsWith(workloads.slice(0, workloads.indexOf('---\napiVersion: apps/v1'))), 'the Namespace document is byte-identical');
  // Key order in an injected document: the original keys first, in their order.
  const deployment = result.output.slice(result.output.indexOf('kind: Deployment'));
  assert.ok(deployment.indexOf('replicas: 2') < deployment.indexOf('selector:'));
  assert.match(deployment, /meshward\.dev\/config: \|\n +apiVersion: meshward\.dev\/v1alpha1\n/); // a readable literal block
});

test('injecting the output again changes nothing', () => {
  const once = run(workloads).output;
  const twice = run(once);
  assert.equal(twice.output, once);
  assert.equal(twice.injected.length, 0);
  assert.equal(twice.skipped.length, 5);
  assert.ok(twice.skipped.every((s) => s.includes('already injected')));
});

test('kube-system, opted-out and hostNetwork workloads are left as they are, with the reason', () => {
  const result = run(skipped);
  assert.equal(result.output, skipped);
  assert.deepEqual(result.skipped, [
    'in.yaml:2:1: Pod/dns: not injected: namespace kube-system is never injected',
    'in.yaml:8:1: Pod/legacy: not injected: opted out (label meshward.dev/inject: "false")',
    "in.yaml:17:1: DaemonSet/node-exporter: not injected: hostNetwork pod: its ports would be the node's ports",
  ]);
});

test('Lists (kind List and typed lists) are walked item by item', () => {
  const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: a, namespace: shop}
    spec: {containers: [{name: a, image: a}]}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: c}
    data: {k: v}
  - apiVersion: apps/v1
    kind: DeploymentList
    items:
      - apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          selector: {matchLabels: {app: d}}
          template: {metadata: {labels: {app: d}}, spec: {containers: [{name: d, image: d}]}}
`;
  const result = run(text);
  assert.deepEqual(result.injected, ['in.yaml:4:5: Pod/a', 'in.yaml:15:9: Deployment/d']);
  const [list] = documents(result.output);
  new Pod(list!.items[0]).validate();
  assert.equal(list!.items[0].spec.initContainers[0].name, 'meshward');
  assert.deepEqual(list!.items[1], { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } });
  new Deployment(list!.items[2].items[0]).validate();
  assert.equal(list!.items[2].items[0].spec.template.spec.initContainers[0].name, 'meshward');
});

test('flow collections keep their spacing: only the injection shows in a diff', () => {
  const padded = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, labels: { app: web } }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - { name: app, image: "example.com/web:1", ports: [ { containerPort: 8080 } ] }
`;
  const out = run(padded).output;
  assert.match(out, /^metadata: \{ name: web, labels: \{ app: web \} \}$/m);
  assert.match(out, /^ {2}selector: \{ matchLabels: \{ app: web \} \}$/m);
  assert.doesNotMatch(out, /\{[a-z]/, 'no tight flow collection written');
  const tight = run(padded.replace(/\{ /g, '{').replace(/ \}/g, '}').replace(/\[ /g, '[').replace(/ \]/g, ']')).output;
  assert.match(tight, /^metadata: \{name: web, labels: \{app: web\}\}$/m);
  assert.doesNotMatch(tight, /\{ [a-z]/, 'no padded flow collection written');
});

test('container mode: Deployments get a regular container, Jobs and CronJobs are skipped', () => {
  const result = run(workloads, injectionOptionsSchema.parse({ sidecarMode: 'container' }));
  assert.equal(result.injected.length, 3);
  assert.deepEqual(result.skipped.map((s) => s.split(': ')[1]), ['Job/migrate', 'CronJob/report']);
  const deployment = documents(result.output).find((d) => d.kind === 'Deployment')!;
  assert.deepEqual(deployment.spec.template.spec.containers.map((c: any) => c.name), ['orders', 'meshward']);
  assert.equal(deployment.spec.template.spec.initContainers, undefined);
});

test('bad input: nothing is produced and every problem has a location', () => {
  const invalidYaml = injectManifests('apiVersion: v1\nkind: Pod\nmetadata: {name: [}\n', 'bad.yaml', defaults);
  assert.equal(invalidYaml.ok, false);
  assert.match(invalidYaml.ok ? '' : invalidYaml.problems[0]!, /^bad\.yaml:3:\d+: invalid YAML: /);

  const badAnnotation = `apiVersion: v1
kind: Pod
metadata: {name: ok, namespace: a}
spec: {containers: [{name: a, image: a}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata:
      annotations: {meshward.dev/app-port: "0"}
    spec: {containers: [{name: a, image: a}]}
`;
  const refused = injectManifests(badAnnotation, 'app.yaml', defaults);
  assert.deepEqual(refused.ok ? [] : refused.problems, [
    'app.yaml:11:5: Deployment/web: annotation meshward.dev/app-port: expected a port from 1 to 65535, got "0"',
  ]);

  const alias = `apiVersion: v1
kind: List
items:
  - &pod {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: a, image: a}]}}
  - *pod
`;
  const aliased = injectManifests(alias, 'alias.yaml', defaults);
  assert.equal(aliased.ok, false);
  assert.match(aliased.ok ? '' : aliased.problems.join('\n'), /alias\.yaml:5:5: Pod\/a: cannot edit through the YAML alias \*pod/);
});

test('edge cases: empty input, only comments, a document end marker, unknown kinds', () => {
  assert.equal(run('').output, '');
  assert.equal(run('# nothing here\n').output, '# nothing here\n');
  const text = 'kind: Widget\napiVersion: example.com/v1\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a}]}\n...\n';
  const result = run(text);
  assert.ok(result.output.startsWith('kind: Widget\napiVersion: example.com/v1\n---\n'));
  assert.ok(result.output.endsWith('...\n'));
  assert.equal(documents(result.output)[1]!.spec.initContainers[0].name, 'meshward');
  // A kind with a pod template in another API group is not ours.
  const foreign = 'apiVersion: example.com/v1\nkind: Deployment\nspec: {template: {spec: {containers: [{name: a, image: a}]}}}\n';
  assert.equal(run(foreign).output, foreign);
});
