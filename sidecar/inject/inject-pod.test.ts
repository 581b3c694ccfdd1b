// planInjection on pods: what is added (checked field by field: kubernetes-models'
// validate() does not reject unknown fields), when it is skipped, what is refused, and
// that the generated config is one `meshward run` accepts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { Pod, type IContainer, type IPod, type IVolume } from 'kubernetes-models/v1';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../../demo/repo-root.js';
import { parseConfig } from '../config/load.js';
import { defaultInjectionOptions, injectionOptionsSchema, MESHWARD_VERSION, type InjectionOptions } from './injection-options.js';
import { planInjection, type InjectionContext, type InjectionResult } from './inject-pod.js';
import { CONFIG_ANNOTATION, INJECTED_ANNOTATION } from './pod-overrides.js';
import { SIDECAR_CONFIG_PATH } from './sidecar-config.js';

const defaults = defaultInjectionOptions();

function appPod(extra: { annotations?: Record<string, string>; labels?: Record<string, string>; spec?: Record<string, unknown> } = {}): IPod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'orders-1', namespace: 'shop', labels: { 'app.kubernetes.io/name': 'orders', ...extra.labels }, annotations: extra.annotations },
    spec: { containers: [{ name: 'app', image: 'example.com/orders:1', ports: [{ containerPort: 50051 }] }], ...extra.spec },
  };
}

/** Injects and returns the patched pod, validated as a Pod. */
function inject(pod: IPod, options: InjectionOptions = defaults, ctx: InjectionContext = {}): { pod: IPod; result: InjectionResult & { action: 'inject' } } {
  const result = planInjection(pod, ctx, options);
  assert.equal(result.action, 'inject', JSON.stringify(result));
  if (result.action !== 'inject') throw new Error('unreachable');
  const patched = jsonpatch.applyPatch(structuredClone(pod), structuredClone(result.patch) as jsonpatch.Operation[], true, false).newDocument;
  new Pod(patched).validate();
  return { pod: patched, result };
}

function meshwardOf(pod: IPod): IContainer {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const found = all.filter((c) => c.name === 'meshward');
  assert.equal(found.length, 1);
  return found[0]!;
}

function volume(pod: IPod, name: string): IVolume {
  const v = pod.spec?.volumes?.find((x) => x.name === name);
  assert.ok(v, `volume ${name}`);
  return v;
}

function sidecarConfigOf(pod: IPod) {
  const text = pod.metadata?.annotations?.[CONFIG_ANNOTATION];
  assert.ok(text, 'config annotation');
  return { text, config: parseConfig(text, SIDECAR_CONFIG_PATH) };
}

test('a pod gets a native sidecar: first init container, restricted, probed, with its volumes', () => {
  const { pod } = inject(appPod({ spec: { initContainers: [{ name: 'setup', image: 'setup:1' }] } }));
  const init = pod.spec?.initContainers ?? [];
  assert.deepEqual(init.map((c) => c.name), ['meshward', 'setup']);
  const c = meshwardOf(pod);
  assert.equal(c.restartPolicy, 'Always');
  assert.equal(c.image, `ghcr.io/meshward/meshward:${MESHWARD_VERSION}`);
  assert.deepEqual(c.args, ['run', '--config', '/etc/meshward/config/sidecar.yaml']);
  assert.deepEqual(c.securityContext, {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.deepEqual(c.ports, [
    { name: 'meshward-in', containerPort: 7443, protocol: 'TCP' },
    { name: 'meshward-admin', containerPort: 7000, protocol: 'TCP' },
  ]);
  assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 7000 });
  assert.deepEqual(c.startupProbe?.httpGet, { path: '/readyz', port: 7000 });
  assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 7000 });
  assert.deepEqual(c.resources, { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } });
  assert.deepEqual(
    c.volumeMounts?.map((m) => [m.name, m.mountPath, m.readOnly ?? false]),
    [
      ['meshward-certs', '/var/run/secrets/meshward', true],
      ['meshward-policies', '/etc/meshward/policies', true],
      ['meshward-config', '/etc/meshward/config', true],
      ['meshward-tmp', '/tmp', false],
    ],
  );
  // The app container is untouched.
  assert.deepEqual(pod.spec?.containers, appPod().spec?.containers);

  assert.deepEqual(volume(pod, 'meshward-certs').csi, {
    driver: 'spiffe.csi.cert-manager.io',
    readOnly: true,
    volumeAttributes: { 'spiffe.csi.cert-manager.io/fs-group': '65532' },
  });
  assert.deepEqual(volume(pod, 'meshward-policies').configMap, { name: 'meshward-policies', optional: true });
  assert.deepEqual(volume(pod, 'meshward-config').downwardAPI?.items, [
    { path: 'sidecar.yaml', fieldRef: { fieldPath: "metadata.annotations['meshward.dev/config']" } },
  ]);
  assert.equal(pod.metadata?.annotations?.[INJECTED_ANNOTATION], 'true');

  // The generated config is valid for `meshward run` and says what the pod needs.
  const { config } = sidecarConfigOf(pod);
  assert.deepEqual(config.inbound.app, { host: '127.0.0.1', port: 50051 }); // the first container port
  assert.deepEqual(config.inbound.listen, { host: '0.0.0.0', port: 7443 });
  assert.equal(config.inbound.mtls, 'strict');
  assert.deepEqual(config.admin.listen, { host: '0.0.0.0', port: 7000 });
  assert.equal(config.identity.certFile, '/var/run/secrets/meshward/tls.crt');
  assert.equal(config.identity.caFile, '/var/run/secrets/meshward/ca.crt');
  assert.deepEqual(config.policies, ['/etc/meshward/policies']);
  assert.equal(config.telemetry.serviceName, 'orders');
  assert.equal(config.outbound, undefined);
});

test('an injected pod is never injected twice', () => {
  const { pod } = inject(appPod());
  assert.deepEqual(planInjection(pod, {}, defaults), { action: 'skip', reason: 'already injected (annotation meshward.dev/injected)' });
  // A container named meshward also counts (e.g. added by hand).
  const manual = appPod({ spec: { containers: [{ name: 'app', image: 'a' }, { name: 'meshward', image: 'm' }] } });
  assert.equal(planInjection(manual, {}, defaults).action, 'skip');
});

test('opted out, hostNetwork, kube-system and excluded namespaces are skipped', () => {
  const reasons = (pod: IPod, ctx: InjectionContext = {}): string => {
    const r = planInjection(pod, ctx, defaults);
    assert.equal(r.action, 'skip');
    return r.action === 'skip' ? r.reason : '';
  };
  assert.match(reasons(appPod({ labels: { 'meshward.dev/inject': 'false' } })), /opted out/);
  assert.match(reasons(appPod({ spec: { hostNetwork: true } })), /hostNetwork/);
  const system = appPod();
  system.metadata!.namespace = 'kube-system';
  assert.match(reasons(system), /kube-system/);
  // A webhook pod often has no namespace of its own: the request's namespace counts.
  const unnamed = appPod();
  delete unnamed.metadata!.namespace;
  assert.match(reasons(unnamed, { namespace: 'kube-system' }), /kube-system/);
  assert.match(reasons(unnamed, { namespace: 'meshward-system', excludeNamespaces: ['meshward-system'] }), /meshward-system/);
  // Label values other than "false" do not opt out.
  assert.equal(planInjection(appPod({ labels: { 'meshward.dev/inject': 'true' } }), {}, defaults).action, 'inject');
});

test('old clusters: a regular container, and run-to-completion pods are skipped', () => {
  const options = injectionOptionsSchema.parse({ sidecarMode: 'container' });
  const { pod } = inject(appPod({ spec: { initContainers: [{ name: 'setup', image: 'setup:1' }] } }), options);
  assert.deepEqual(pod.spec?.containers?.map((c) => c.name), ['app', 'meshward']);
  assert.deepEqual(pod.spec?.initContainers?.map((c) => c.name), ['setup']);
  assert.equal(meshwardOf(pod).restartPolicy, undefined);

  for (const restartPolicy of ['Never', 'OnFailure']) {
    const r = planInjection(appPod({ spec: { restartPolicy } }), {}, options);
    assert.equal(r.action, 'skip');
    assert.match(r.action === 'skip' ? r.reason : '', /native/);
  }
  // A native sidecar does not keep a Job's pod alive: injected.
  assert.equal(planInjection(appPod({ spec: { restartPolicy: 'Never' } }), {}, defaults).action, 'inject');
  // The pod annotation chooses the mode too.
  const { pod: annotated } = inject(appPod({ annotations: { 'meshward.dev/sidecar-mode': 'container' } }));
  assert.deepEqual(annotated.spec?.containers?.map((c) => c.name), ['app', 'meshward']);
});

test('pod annotations override ports, policies, mTLS, certificates, resources and routes', () => {
  const routes = JSON.stringify([
    { authority: 'payments.pay.svc.cluster.local:50051', address: 'payments.pay.svc.cluster.local:7443', identity: 'spiffe://cluster.local/ns/pay/sa/payments' },
  ]);
  const { pod } = inject(
    appPod({
      annotations: {
        'meshward.dev/app-port': '9000',
        'meshward.dev/inbound-port': '8443',
        'meshward.dev/admin-port': '9901',
        'meshward.dev/outbound-port': '9001',
        'meshward.dev/outbound-routes': routes,
        'meshward.dev/policies': 'orders-policies',
        'meshward.dev/mtls': 'permissive',
        'meshward.dev/workers': '2',
        'meshward.dev/service-name': 'orders-api',
        'meshward.dev/cert-secret': 'orders-svid',
        'meshward.dev/cpu-request': '100m',
        'meshward.dev/cpu-limit': '2',
        'meshward.dev/memory-request': '128Mi',
        'meshward.dev/memory-limit': '512Mi',
      },
    }),
  );
  const c = meshwardOf(pod);
  assert.deepEqual(c.ports?.map((p) => p.containerPort), [8443, 9901, 9001]);
  assert.deepEqual(c.readinessProbe?.httpGet?.port, 9901);
  assert.deepEqual(c.resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '512Mi' } });
  assert.deepEqual(volume(pod, 'meshward-certs').secret, { secretName: 'orders-svid', defaultMode: 0o444 });
  assert.equal(volume(pod, 'meshward-certs').csi, undefined);
  assert.equal(volume(pod, 'meshward-policies').configMap?.name, 'orders-policies');

  const { config } = sidecarConfigOf(pod);
  assert.deepEqual(config.inbound.app, { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(config.inbound.listen, { host: '0.0.0.0', port: 8443 });
  assert.equal(config.inbound.mtls, 'permissive');
  assert.deepEqual(config.admin.listen, { host: '0.0.0.0', port: 9901 });
  assert.deepEqual(config.outbound?.listen, { host: '127.0.0.1', port: 9001 });
  assert.deepEqual(config.outbound?.routes.map((r) => [r.authority, r.address.port, r.identity]), [
    ['payments.pay.svc.cluster.local:50051', 7443, 'spiffe://cluster.local/ns/pay/sa/payments'],
  ]);
  assert.equal(config.telemetry.serviceName, 'orders-api');
  assert.equal(config.workers, 2);
});

test('workers: one process unless the options or the pod say otherwise; a bad count is refused', () => {
  const one = sidecarConfigOf(inject(appPod()).pod);
  assert.equal(one.config.workers, 1);
  assert.doesNotMatch(one.text, /workers/);
  // "auto" stays "auto" in the file: the sidecar counts the CPUs it sees when it starts.
  assert.match(sidecarConfigOf(inject(appPod({ annotations: { 'meshward.dev/workers': 'auto' } })).pod).text, /^workers: auto$/m);
  assert.equal(sidecarConfigOf(inject(appPod(), { ...defaults, workers: 3 }).pod).config.workers, 3);
  for (const bad of ['0', '65', 'two', '1.5']) {
    const r = planInjection(appPod({ annotations: { 'meshward.dev/workers': bad } }), {}, defaults);
    assert.deepEqual(r.action === 'error' && r.problems, [`annotation meshward.dev/workers: expected a number of worker processes from 1 to 64, or auto, got "${bad}"`], bad);
  }
});

test('invalid annotations are refused with every problem named', () => {
  const r = planInjection(
    appPod({
      annotations: {
        'meshward.dev/app-port': 'http',
        'meshward.dev/mtls': 'strik',
        'meshward.dev/admin-prot': '7001',
        'meshward.dev/memory-limit': 'lots',
        'meshward.dev/outbound-routes': '{authority: a}',
      },
    }),
    {},
    defaults,
  );
  assert.equal(r.action, 'error');
  const problems = r.action === 'error' ? r.problems : [];
  assert.deepEqual(problems, [
    'unknown annotation "meshward.dev/admin-prot" (did you mean "meshward.dev/admin-port"?)',
    'annotation meshward.dev/app-port: expected a port from 1 to 65535, got "http"',
    'annotation meshward.dev/outbound-routes: expected a YAML or JSON list of {authority, address, identity} (at most 256), got "{authority: a}"',
    'annotation meshward.dev/mtls: expected one of strict, permissive, got "strik"',
    'annotation meshward.dev/memory-limit: expected a Kubernetes quantity such as 50m, 1, 64Mi or 1Gi, got "lots"',
  ]);
});

test('the app port without an annotation: TCP ports only, the first container that declares one, refused when ambiguous', () => {
  const appPortOf = (containers: unknown[]) => sidecarConfigOf(inject(appPod({ spec: { containers } })).pod).config.inbound.app.port;
  // A UDP (or SCTP) port is never the app's.
  assert.equal(appPortOf([{ name: 'app', image: 'a', ports: [{ containerPort: 5353, protocol: 'UDP' }, { containerPort: 50051, protocol: 'TCP' }] }]), 50051);
  assert.equal(appPortOf([{ name: 'app', image: 'a', ports: [{ containerPort: 5353, protocol: 'UDP' }] }]), 8080);
  // The first container declares none, one other container does: that one.
  assert.equal(appPortOf([{ name: 'init-ish', image: 'a' }, { name: 'app', image: 'a', ports: [{ containerPort: 9000 }] }]), 9000);
  // The first container's own port wins over other containers' (metrics exporters, ...).
  assert.equal(appPortOf([{ name: 'app', image: 'a', ports: [{ containerPort: 9000 }] }, { name: 'exporter', image: 'b', ports: [{ containerPort: 9100 }] }]), 9000);
  // Nothing says which: refused, asking for the annotation; the annotation settles it.
  const ambiguous = [{ name: 'proxy', image: 'a' }, { name: 'app', image: 'a', ports: [{ containerPort: 9000 }] }, { name: 'exporter', image: 'b', ports: [{ containerPort: 9100 }] }];
  const r = planInjection(appPod({ spec: { containers: ambiguous } }), {}, defaults);
  assert.deepEqual(r.action === 'error' && r.problems, [
    'cannot tell the app\'s port: several containers declare TCP ports (9000 on container "app"; 9100 on container "exporter") and the first container none; set annotation meshward.dev/app-port',
  ]);
  const settled = sidecarConfigOf(inject(appPod({ annotations: { 'meshward.dev/app-port': '9100' }, spec: { containers: ambiguous } })).pod).config;
  assert.equal(settled.inbound.app.port, 9100);
});

test('port clashes, volume name clashes and values the sidecar would refuse are refused', () => {
  const clash = planInjection(appPod({ spec: { containers: [{ name: 'app', image: 'a', ports: [{ containerPort: 8080 }, { containerPort: 7000 }] }] } }), {}, defaults);
  assert.deepEqual(clash.action === 'error' && clash.problems, [
    'meshward\'s admin port 7000 is also the container "app" port; choose another with annotation meshward.dev/admin-port',
  ]);
  const samePort = planInjection(appPod({ annotations: { 'meshward.dev/app-port': '7443' } }), {}, defaults);
  assert.match(samePort.action === 'error' ? samePort.problems.join() : '', /inbound port 7443 is also the app port/);

  const volumeClash = planInjection(appPod({ spec: { volumes: [{ name: 'meshward-tmp', emptyDir: {} }] } }), {}, defaults);
  assert.deepEqual(volumeClash.action === 'error' && volumeClash.problems, ['the pod already has a volume named "meshward-tmp"']);

  // A route whose identity is not a SPIFFE ID: caught by the sidecar's own schema.
  const badRoute = JSON.stringify([{ authority: 'a:1', address: 'a:7443', identity: 'https://example.com' }]);
  const r = planInjection(appPod({ annotations: { 'meshward.dev/outbound-routes': badRoute } }), {}, defaults);
  assert.equal(r.action, 'error');
  assert.match(r.action === 'error' ? r.problems.join('\n') : '', /generated sidecar config is invalid: .*\/outbound\/routes\/0\/identity: expected a SPIFFE ID/);

  assert.equal(planInjection({ kind: 'Pod', spec: {} }, {}, defaults).action, 'error');
  assert.equal(planInjection('pod', {}, defaults).action, 'error');
});

test('the injection options copy sidecar config sections into every pod, validated at load', () => {
  const options = injectionOptionsSchema.parse({
    trustDomain: 'prod.example.com',
    sidecar: {
      telemetry: { otlp: { endpoint: 'http://jaeger.observability.svc:4318', protocol: 'http/protobuf' }, sampling: 0.1 },
      rateLimit: { store: 'redis', redis: { url: 'redis://redis.meshward-system.svc:6379', failMode: 'closed', timeout: '50ms' } },
      shutdown: { drainTimeout: '15s' },
    },
  });
  const { pod } = inject(appPod(), options);
  const { config, text } = sidecarConfigOf(pod);
  assert.equal(config.identity.trustDomain, 'prod.example.com');
  assert.equal(config.telemetry.otlp?.endpoint, 'http://jaeger.observability.svc:4318');
  assert.equal(config.telemetry.sampling, 0.1);
  assert.equal(config.telemetry.serviceName, 'orders'); // the pod's own name wins
  assert.equal(config.rateLimit.store, 'redis');
  assert.equal(config.rateLimit.redis.timeout, 50);
  assert.equal(config.shutdown.drainTimeout, 15_000);
  assert.match(text, /timeout: 50ms/); // re-emitted as written

  const bad = injectionOptionsSchema.safeParse({ sidecar: { telemetry: { otlp: { endpoint: 'ftp://x' } }, rateLimit: { stor: 'redis' } } });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues.map((i) => i.path.join('.')).sort(), ['sidecar.rateLimit', 'sidecar.telemetry.otlp.endpoint']);
});

test('the image version matches package.json and the chart appVersion', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const chart = parseYaml(readFileSync(join(repoRoot, 'charts', 'meshward', 'Chart.yaml'), 'utf8')) as { appVersion: string };
  assert.equal(MESHWARD_VERSION, pkg.version);
  assert.equal(chart.appVersion, pkg.version);
});

test('adminAllow: who may use the injected sidecar admin endpoints over mTLS (DESIGN §12)', () => {
  const none = sidecarConfigOf(inject(appPod()).pod);
  assert.deepEqual(none.config.admin.allow, [], 'nobody by default: only the probes are open off loopback');
  const ops = injectionOptionsSchema.parse({ adminAllow: ['spiffe://cluster.local/ns/monitoring/*'] });
  const config = sidecarConfigOf(inject(appPod(), ops).pod).config;
  assert.deepEqual(config.admin.allow, ['spiffe://cluster.local/ns/monitoring/*']);
  assert.equal(config.admin.listen.host, '0.0.0.0');
  assert.throws(() => injectionOptionsSchema.parse({ adminAllow: ['prometheus'] }), /adminAllow/);
});
