// charts/meshward with the real helm binary: `helm lint --strict` and `helm template` for
// several values files, the rendered objects parsed and checked (labels, webhook fields,
// namespaceSelector, TLS, security contexts, probes, RBAC), the rendered injector config
// loaded by the injector's own loader and used to inject a pod the sidecar would accept.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseConfig } from '../sidecar/config/load.js';
import { planInjection } from '../sidecar/inject/inject-pod.js';
import { parseInjectorConfig, type InjectorConfig } from '../sidecar/inject/injector-config.js';
import { CONFIG_ANNOTATION } from '../sidecar/inject/pod-overrides.js';
import { SIDECAR_CONFIG_PATH } from '../sidecar/inject/sidecar-config.js';
import { parsePolicySources } from '../sidecar/policy/load.js';
import { chartDir, helm, helmTemplate, type K8sObject } from './support/helm.js';

const NS = 'meshward-system';
const valuesFile = (name: string) => join(chartDir, 'ci', `${name}-values.yaml`);

const VALIDATORS: Record<string, (o: any) => void> = {
  Deployment: (o) => new Deployment(o).validate(),
  DaemonSet: (o) => new DaemonSet(o).validate(),
  Service: (o) => new Service(o).validate(),
  ServiceAccount: (o) => new ServiceAccount(o).validate(),
  ConfigMap: (o) => new ConfigMap(o).validate(),
  Secret: (o) => new Secret(o).validate(),
  Pod: (o) => new Pod(o).validate(),
  Role: (o) => new Role(o).validate(),
  RoleBinding: (o) => new RoleBinding(o).validate(),
  PodDisruptionBudget: (o) => new PodDisruptionBudget(o).validate(),
  NetworkPolicy: (o) => new NetworkPolicy(o).validate(),
  MutatingWebhookConfiguration: (o) => new MutatingWebhookConfiguration(o).validate(),
};

const RESTRICTED = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

class Rendered {
  constructor(readonly objects: K8sObject[]) {}
  all(kind: string): K8sObject[] {
    return this.objects.filter((o) => o.kind === kind);
  }
  one(kind: string, name?: string): K8sObject {
    const found = this.all(kind).filter((o) => name === undefined || o.metadata.name === name);
    assert.equal(found.length, 1, `exactly one ${kind}${name ? ` ${name}` : ''}`);
    return found[0]!;
  }
  has(kind: string, name: string, namespace?: string): boolean {
    return this.all(kind).some((o) => o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  }
  injectorConfig(): InjectorConfig {
    const text = this.one('ConfigMap', 'mw-meshward-injector').data['injector.yaml'] as string;
    return parseInjectorConfig(text, '/etc/meshward-injector/injector.yaml');
  }
}

function render(args: string[] = []): Rendered {
  return new Rendered(helmTemplate('mw', NS, args));
}

/** Checks that hold for every rendering; returns the webhook. */
function checkCommon(r: Rendered, failurePolicy: 'Fail' | 'Ignore'): Record<string, any> {
  for (const o of r.objects) {
    const labels = o.metadata.labels ?? {};
    for (const key of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/component', 'app.kubernetes.io/part-of', 'helm.sh/chart']) {
      assert.ok(labels[key], `${o.kind}/${o.metadata.name}: label ${key}`);
    }
    assert.equal(labels['app.kubernetes.io/instance'], 'mw');
    assert.equal(labels['app.kubernetes.io/managed-by'], 'Helm');
    VALIDATORS[o.kind]?.(o);
    if (o.kind !== 'MutatingWebhookConfiguration' && !o.metadata.namespace) assert.fail(`${o.kind}/${o.metadata.name} has a namespace`);
  }
  // No cluster-wide permission at all.
  assert.equal(r.all('ClusterRole').length + r.all('ClusterRoleBinding').length, 0);

  // The injector.
  const deployment = r.one('Deployment', 'mw-meshward-injector');
  const pod = deployment.spec.template;
  assert.equal(pod.metadata.labels['meshward.dev/inject'], 'false');
  for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(pod.metadata.labels[k], v);
  assert.equal(pod.spec.automountServiceAccountToken, false);
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  assert.deepEqual(pod.spec.securityContext.seccompProfile, { type: 'RuntimeDefault' });
  const container = pod.spec.containers[0];
  assert.deepEqual(container.args, ['injector', '--config', '/etc/meshward-injector/injector.yaml']);
  assert.deepEqual({ ...container.securityContext, runAsUser: undefined, runAsGroup: undefined }, { ...RESTRICTED, runAsUser: undefined, runAsGroup: undefined });
  assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
  assert.deepEqual(container.startupProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
  assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  assert.deepEqual(container.ports, [{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
  assert.ok(container.resources.requests.cpu && container.resources.limits.memory);
  const volumes = Object.fromEntries(pod.spec.volumes.map((v: any) => [v.name, v]));
  assert.ok(r.has('ConfigMap', volumes.config.configMap.name, NS));
  const tlsSecret = volumes.tls.secret.secretName as string;
  const sa = r.one('ServiceAccount', pod.spec.serviceAccountName);
  assert.equal(sa.automountServiceAccountToken, false);

  // The Service routes to it.
  const service = r.one('Service', 'mw-meshward-injector');
  assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
  assert.deepEqual(service.spec.ports, [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);

  // The webhook.
  const config = r.one('MutatingWebhookConfiguration');
  assert.equal(config.webhooks.length, 1);
  const webhook = config.webhooks[0];
  assert.equal(webhook.sideEffects, 'None');
  assert.deepEqual(webhook.admissionReviewVersions, ['v1']);
  assert.equal(webhook.failurePolicy, failurePolicy);
  assert.deepEqual(webhook.clientConfig.service, { name: 'mw-meshward-injector', namespace: NS, path: '/inject', port: 443 });
  assert.deepEqual(webhook.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
  const [optIn, excluded] = webhook.namespaceSelector.matchExpressions;
  assert.deepEqual(optIn, { key: 'meshward.dev/inject', operator: 'In', values: ['enabled'] });
  assert.equal(excluded.key, 'kubernetes.io/metadata.name');
  assert.equal(excluded.operator, 'NotIn');
  assert.ok(excluded.values.includes('kube-system') && excluded.values.includes(NS));
  assert.deepEqual(webhook.objectSelector.matchExpressions, [{ key: 'meshward.dev/inject', operator: 'NotIn', values: ['false'] }]);
  assert.ok(webhook.timeoutSeconds >= 1 && webhook.timeoutSeconds <= 30);

  // The injector's config file agrees with the webhook and loads with the injector's loader.
  const injector = r.injectorConfig();
  assert.equal(injector.failurePolicy, failurePolicy);
  assert.deepEqual([...injector.excludeNamespaces].sort(), [...excluded.values].sort());
  assert.equal(injector.limits.requestTimeout, webhook.timeoutSeconds * 1000);
  assert.equal(injector.tls.certFile, '/etc/meshward-injector/tls/tls.crt');
  assert.equal(pod.spec.containers[0].volumeMounts.find((m: any) => m.name === 'tls').mountPath, '/etc/meshward-injector/tls');
  assert.equal(injector.injection.image, container.image);
  return { webhook, config, tlsSecret, injector };
}

/** Injects a pod with the rendered injector config; returns the sidecar config, as `meshward run` would load it. */
function injectWith(injector: InjectorConfig) {
  const pod = { metadata: { labels: { app: 'orders' } }, spec: { containers: [{ name: 'orders', image: 'orders:1', ports: [{ containerPort: 50051 }] }] } };
  const plan = planInjection(pod, { namespace: 'shop', excludeNamespaces: injector.excludeNamespaces }, injector.injection);
  assert.equal(plan.action, 'inject', JSON.stringify(plan));
  if (plan.action !== 'inject') throw new Error('unreachable');
  const annotations = plan.patch.find((op) => op.path === '/metadata/annotations')?.value as Record<string, string>;
  const sidecar = plan.patch.find((op) => op.path.startsWith('/spec/initContainers') || op.path === '/spec/containers/-')!;
  return { config: parseConfig(annotations[CONFIG_ANNOTATION]!, SIDECAR_CONFIG_PATH), sidecar, plan };
}

test('helm lint --strict passes for every values file', () => {
  for (const args of [[], ...['cert-manager', 'redis-jaeger', 'ignore'].map((n) => ['-f', valuesFile(n)])]) {
    const r = helm(['lint', '--strict', chartDir, ...args]);
    assert.equal(r.status, 0, `helm lint ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

test('default values: Helm-generated webhook TLS, native sidecars, CSI certificates, no extras', () => {
  const r = render();
  const { config, tlsSecret, injector } = checkCommon(r, 'Fail');
  assert.equal(config.metadata.annotations?.['cert-manager.io/inject-ca-from'], undefined);
  // The generated CA signs the serving certificate, which names the Service.
  const secret = r.one('Secret', tlsSecret);
  assert.equal(secret.type, 'kubernetes.io/tls');
  const caPem = Buffer.from(secret.data['ca.crt'], 'base64').toString();
  assert.equal(Buffer.from(config.webhooks[0].clientConfig.caBundle, 'base64').toString(), caPem);
  const leaf = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
  assert.ok(leaf.verify(new X509Certificate(caPem).publicKey));
  assert.ok(leaf.checkHost(`mw-meshward-injector.${NS}.svc`));
  assert.ok(leaf.checkHost(`mw-meshward-injector.${NS}.svc.cluster.local`));
  assert.equal(r.all('Certificate').length, 0);

  assert.equal(injector.injection.sidecarMode, 'native'); // helm's default Kubernetes version is >= 1.29
  assert.equal(injector.injection.certificates.source, 'csi');
  assert.equal(r.all('Deployment').length, 1, 'no Redis, no Jaeger');
  assert.equal(r.all('Role').length, 0, 'no mesh namespaces given');
  assert.equal(r.one('PodDisruptionBudget').spec.minAvailable, 1);

  const { config: sidecar, sidecar: op } = injectWith(injector);
  assert.equal(op.path, '/spec/initContainers');
  assert.equal(sidecar.rateLimit.store, 'memory');
  assert.equal(sidecar.telemetry.otlp, undefined);

  // The chart test pod: restricted, trusts the webhook CA only.
  const testPod = r.one('Pod', 'mw-meshward-test-injector');
  assert.equal(testPod.metadata.annotations['helm.sh/hook'], 'test');
  assert.deepEqual({ ...testPod.spec.containers[0].securityContext, runAsUser: undefined, runAsGroup: undefined }, { ...RESTRICTED, runAsUser: undefined, runAsGroup: undefined });
  assert.equal(testPod.spec.volumes[0].secret.secretName, tlsSecret);
});

test('cert-manager: a Certificate for the Service, the CA injected by cert-manager', () => {
  const r = render(['-f', valuesFile('cert-manager')]);
  const { config, tlsSecret } = checkCommon(r, 'Fail');
  assert.equal(r.all('Secret').length, 0, 'no Helm-generated key material');
  const certificate = r.one('Certificate', 'mw-meshward-webhook');
  assert.equal(certificate.apiVersion, 'cert-manager.io/v1');
  assert.equal(certificate.spec.secretName, tlsSecret);
  assert.ok(certificate.spec.dnsNames.includes(`mw-meshward-injector.${NS}.svc`));
  assert.equal(config.metadata.annotations['cert-manager.io/inject-ca-from'], `${NS}/mw-meshward-webhook`);
  assert.equal(config.webhooks[0].clientConfig.caBundle, undefined);
  // Its issuer is the chart's CA issuer, itself issued by a self-signed one.
  const caIssuer = r.one('Issuer', certificate.spec.issuerRef.name);
  const caCert = r.one('Certificate', 'mw-meshward-webhook-ca');
  assert.equal(caIssuer.spec.ca.secretName, caCert.spec.secretName);
  assert.equal(caCert.spec.isCA, true);
  assert.deepEqual(r.one('Issuer', caCert.spec.issuerRef.name).spec, { selfSigned: {} });

  // An existing issuer: no chart issuers.
  const external = render(['-f', valuesFile('cert-manager'), '--set', 'certManager.issuerRef.name=corp-ca', '--set', 'certManager.issuerRef.kind=ClusterIssuer']);
  assert.equal(external.all('Issuer').length, 0);
  assert.deepEqual(external.one('Certificate').spec.issuerRef, { name: 'corp-ca', kind: 'ClusterIssuer' });
});

test('Redis and Jaeger on: their objects, and every sidecar pointed at them', () => {
  const r = render(['-f', valuesFile('redis-jaeger')]);
  const { injector } = checkCommon(r, 'Fail');

  const redis = r.one('Deployment', 'mw-meshward-redis');
  const redisPod = redis.spec.template.spec;
  assert.equal(redis.spec.template.metadata.labels['meshward.dev/inject'], 'false');
  assert.deepEqual({ ...redisPod.containers[0].securityContext, runAsUser: undefined, runAsGroup: undefined }, { ...RESTRICTED, runAsUser: undefined, runAsGroup: undefined });
  assert.ok(redisPod.containers[0].readinessProbe && redisPod.containers[0].livenessProbe);
  assert.deepEqual(r.one('Service', 'mw-meshward-redis').spec.ports[0].port, 6379);
  const netpol = r.one('NetworkPolicy', 'mw-meshward-redis');
  assert.deepEqual(netpol.spec.ingress[0].from, [{ namespaceSelector: { matchLabels: { 'meshward.dev/inject': 'enabled' } } }]);

  const jaeger = r.one('Deployment', 'mw-meshward-jaeger');
  const jaegerContainer = jaeger.spec.template.spec.containers[0];
  assert.match(jaegerContainer.image, /jaegertracing\/jaeger:2\./);
  assert.deepEqual(jaegerContainer.ports.map((p: any) => p.containerPort).sort(), [16686, 4317, 4318]);
  assert.deepEqual({ ...jaegerContainer.securityContext, runAsUser: undefined, runAsGroup: undefined }, { ...RESTRICTED, runAsUser: undefined, runAsGroup: undefined });
  assert.deepEqual(r.one('Service', 'mw-meshward-jaeger').spec.ports.map((p: any) => p.port).sort(), [16686, 4317, 4318]);

  // A pod injected with the rendered config reaches both, through the sidecar's own loader.
  const { config } = injectWith(injector);
  assert.equal(config.rateLimit.store, 'redis');
  assert.equal(config.rateLimit.redis.url, `redis://mw-meshward-redis.${NS}.svc:6379`);
  assert.equal(config.rateLimit.redis.failMode, 'closed');
  assert.equal(config.telemetry.otlp?.endpoint, `http://mw-meshward-jaeger.${NS}.svc:4317`);
  assert.equal(config.telemetry.otlp?.protocol, 'grpc');
  assert.equal(config.telemetry.sampling, 0.25);
  assert.equal(config.identity.trustDomain, 'prod.example.com');
  assert.deepEqual(config.jwt.providers.map((p) => p.name), ['corp']);

  // Mesh namespaces: the default policies (valid for the policy loader) and the one RBAC rule.
  for (const ns of ['shop', 'web']) {
    const policies = r.all('ConfigMap').find((c) => c.metadata.name === 'meshward-policies' && c.metadata.namespace === ns)!;
    const loaded = parsePolicySources(Object.entries(policies.data).map(([file, text]) => ({ file, text: text as string })));
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.join('\n'));
    const role = r.all('Role').find((x) => x.metadata.namespace === ns)!;
    assert.deepEqual(role.rules, [{ apiGroups: ['cert-manager.io'], resources: ['certificaterequests'], verbs: ['create'] }]);
    const binding = r.all('RoleBinding').find((x) => x.metadata.namespace === ns)!;
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    assert.deepEqual(binding.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `system:serviceaccounts:${ns}` }]);
  }
});

test('failurePolicy Ignore, regular containers, Secret certificates, more excluded namespaces', () => {
  const r = render(['-f', valuesFile('ignore')]);
  const { webhook, injector } = checkCommon(r, 'Ignore');
  assert.equal(webhook.timeoutSeconds, 5);
  assert.deepEqual(webhook.namespaceSelector.matchExpressions[1].values, ['kube-system', NS, 'monitoring', 'logging']);
  assert.equal(injector.injection.sidecarMode, 'container');
  assert.equal(r.all('PodDisruptionBudget').length, 0, 'one replica: no PDB');
  assert.equal(r.all('Role').length, 0, 'Secret certificates need no CertificateRequest RBAC');
  assert.ok(r.has('ConfigMap', 'meshward-policies', 'shop'));
  const { sidecar } = injectWith(injector);
  assert.equal(sidecar.path, '/spec/containers/-');
  const volumes = injectWith(injector).plan.patch.find((op) => op.path === '/spec/volumes')!.value as any[];
  assert.deepEqual(volumes[0].secret, { secretName: 'workload-svid', defaultMode: 0o444 });
});

test('sidecar mode auto follows the cluster version; the schema rejects bad values', () => {
  assert.equal(render(['--kube-version', '1.28.0']).injectorConfig().injection.sidecarMode, 'container');
  assert.equal(render(['--kube-version', '1.29.0']).injectorConfig().injection.sidecarMode, 'native');
  assert.equal(render(['--kube-version', '1.33.1', '--set', 'sidecar.mode=container']).injectorConfig().injection.sidecarMode, 'container');
  // Worker processes per sidecar: 1 by default, a number or auto from the values.
  assert.equal(render([]).injectorConfig().injection.workers, 1);
  assert.equal(render(['--set', 'sidecar.workers=2']).injectorConfig().injection.workers, 2);
  assert.equal(render(['--set', 'sidecar.workers=auto']).injectorConfig().injection.workers, 'auto');
  for (const [args, message] of [
    [['--set', 'webhook.failurePolicy=Sometimes'], /failurePolicy/],
    [['--set', 'replicas=3'], /additional properties 'replicas' not allowed/],
    [['--set', 'sidecar.ports.admin=70000'], /admin/],
    [['--set', 'sidecar.config.tracing.x=1'], /tracing/],
    [['--kube-version', '1.24.0'], /kubeVersion/],
  ] as Array<[string[], RegExp]>) {
    const result = helm(['template', 'mw', chartDir, '--namespace', NS, ...args]);
    assert.notEqual(result.status, 0, args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
  }
});

test('NOTES.txt tells how to mesh a namespace, and how to reach Jaeger when it is on', () => {
  const install = (args: string[]) => helm(['install', 'mw', chartDir, '--namespace', NS, '--dry-run=client', ...args]);
  const plain = install([]);
  assert.equal(plain.status, 0, plain.stderr);
  const notes = plain.stdout.slice(plain.stdout.indexOf('NOTES:'));
  assert.match(notes, /kubectl label namespace NAMESPACE meshward\.dev\/inject=enabled/);
  assert.match(notes, /failurePolicy: Fail/);
  assert.doesNotMatch(notes, /port-forward/);
  const withJaeger = install(['-f', valuesFile('redis-jaeger')]);
  assert.equal(withJaeger.status, 0, withJaeger.stderr);
  assert.match(withJaeger.stdout, /port-forward svc\/mw-meshward-jaeger 16686:16686/);
  assert.match(withJaeger.stdout, /default one in: shop, web/);
});
