// reviewAdmission: the webhook's answer to every kind of AdmissionReview, under both
// failure policies. (integration/kubernetes.test.ts sends the same over real HTTPS.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1';
import { reviewAdmission, type AdmissionSettings } from './admission.js';
import { defaultInjectionOptions } from './injection-options.js';

const fail: AdmissionSettings = { failurePolicy: 'Fail', excludeNamespaces: ['meshward-system'], injection: defaultInjectionOptions() };
const ignore: AdmissionSettings = { ...fail, failurePolicy: 'Ignore' };

const pod = (annotations: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'orders-7d9f-', labels: { app: 'orders' }, annotations },
  spec: { containers: [{ name: 'orders', image: 'example.com/orders:1', ports: [{ containerPort: 8080 }] }] },
});

function review(overrides: Record<string, unknown> = {}, object: unknown = pod()) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object,
      dryRun: false,
      ...overrides,
    },
  };
}

function response(outcome: ReturnType<typeof reviewAdmission>): Record<string, any> {
  assert.equal(outcome.httpStatus, 200);
  if (outcome.httpStatus !== 200) throw new Error('unreachable');
  assert.equal(outcome.review.apiVersion, 'admission.k8s.io/v1');
  assert.equal(outcome.review.kind, 'AdmissionReview');
  const r = outcome.review.response as Record<string, any>;
  assert.equal(r.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
  return r;
}

test('a pod CREATE is answered with a base64 JSONPatch that injects the sidecar', () => {
  const outcome = reviewAdmission(review(), fail);
  const r = response(outcome);
  assert.equal(r.allowed, true);
  assert.equal(r.patchType, 'JSONPatch');
  const ops = JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as jsonpatch.Operation[];
  assert.ok(ops.every((op) => op.op === 'add'));
  const patched = jsonpatch.applyPatch(pod() as Record<string, any>, ops, true, false).newDocument;
  new Pod(patched).validate();
  assert.equal(patched.spec.initContainers?.[0]?.name, 'meshward');
  assert.equal(outcome.httpStatus === 200 && outcome.result, 'injected');
  assert.deepEqual(outcome.httpStatus === 200 && outcome.request, {
    uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
    namespace: 'shop',
    name: 'orders-7d9f-*',
    operation: 'CREATE',
  });
});

test('pods that are not for injection are allowed unpatched', () => {
  const cases: Array<[string, ReturnType<typeof review>]> = [
    ['kube-system', review({ namespace: 'kube-system' })],
    ['an excluded namespace', review({ namespace: 'meshward-system' })],
    ['opted out', review({}, { ...pod(), metadata: { labels: { 'meshward.dev/inject': 'false' } } })],
    ['already injected', review({}, { ...pod({ 'meshward.dev/injected': 'true' }) })],
    ['an UPDATE', review({ operation: 'UPDATE' })],
    ['a DELETE without object', review({ operation: 'DELETE', object: null })],
    ['a subresource', review({ subResource: 'ephemeralcontainers', operation: 'UPDATE' })],
  ];
  for (const [what, body] of cases) {
    for (const settings of [fail, ignore]) {
      const r = response(reviewAdmission(body, settings));
      assert.equal(r.allowed, true, what);
      assert.equal(r.patch, undefined, what);
      assert.equal(r.warnings, undefined, what);
    }
  }
});

test('what the injector cannot handle follows the failure policy', () => {
  const cases: Array<[string, ReturnType<typeof review>, RegExp]> = [
    ['a bad annotation', review({}, pod({ 'meshward.dev/app-port': 'eighty' })), /meshward\.dev\/app-port: expected a port/],
    ['a Deployment', review({ kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } }), /only handles pods .*apps\/v1\/Deployment/],
    ['no object', review({ object: undefined }), /no pod object/],
    ['not a pod spec', review({}, { metadata: {}, spec: { containers: 'app' } }), /at least one container/],
  ];
  for (const [what, body, reason] of cases) {
    const refused = response(reviewAdmission(body, fail));
    assert.equal(refused.allowed, false, what);
    assert.equal(refused.status.code, 400, what);
    assert.match(refused.status.message, /^meshward: pod not injected: /, what);
    assert.match(refused.status.message, reason, what);
    assert.equal(refused.patch, undefined, what);

    const allowed = response(reviewAdmission(body, ignore));
    assert.equal(allowed.allowed, true, what);
    assert.equal(allowed.patch, undefined, what);
    assert.equal(allowed.warnings.length, 1, what);
    assert.match(allowed.warnings[0], reason, what);
  }
});

test('warnings stay short and few', () => {
  const annotations = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`meshward.dev/unknown-${i}-${'x'.repeat(300)}`, 'v']));
  const r = response(reviewAdmission(review({}, pod(annotations)), ignore));
  assert.equal(r.warnings.length, 10);
  assert.ok(r.warnings.every((w: string) => w.length <= 256));
});

test('bodies that are not an AdmissionReview v1 get HTTP 400 (no uid to answer)', () => {
  for (const body of [null, 'x', [], { kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1beta1', request: { uid: 'a' } }, { ...review(), request: { uid: '' } }, { ...review(), request: undefined }]) {
    const outcome = reviewAdmission(body, fail);
    assert.equal(outcome.httpStatus, 400, JSON.stringify(body));
  }
});
