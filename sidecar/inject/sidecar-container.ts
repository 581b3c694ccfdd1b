// The meshward container and the volumes it needs, for one pod's settings. CONTROL path; pure.
//
// - Certificates: cert-manager's csi-driver-spiffe by default (one SVID per pod, for the
//   pod's service account, renewed in place, private key only in node tmpfs, never in
//   etcd); or a Secret (`meshward.dev/cert-secret`, or certificates.source: secret) for
//   clusters without the driver. Either way tls.crt, tls.key and ca.crt, which the
//   sidecar watches and rotates (README "Two pods": rotation).
// - Config: the generated file lives in the pod's own `meshward.dev/config` annotation and
//   is projected by the downward API: a mutating webhook with sideEffects None cannot
//   create a ConfigMap per pod, and the file differs per pod (ports, routes, service name).
// - Policies: the namespace's ConfigMap (optional: without it the sidecar starts with no
//   policies, i.e. default deny, and picks them up when the ConfigMap appears).
import type { IContainer, IVolume } from 'kubernetes-models/v1';
import { SPIFFE_CSI_DRIVER, type InjectionOptions } from './injection-options.js';
import { CONFIG_ANNOTATION, type PodSettings } from './pod-overrides.js';
import { SIDECAR_CONFIG_PATH, SIDECAR_PATHS } from './sidecar-config.js';

export const SIDECAR_CONTAINER_NAME = 'meshward';

export const VOLUME_NAMES = {
  certs: 'meshward-certs',
  policies: 'meshward-policies',
  config: 'meshward-config',
  tmp: 'meshward-tmp',
} as const;

export const PORT_NAMES = { inbound: 'meshward-in', admin: 'meshward-admin' } as const;

export function sidecarContainer(settings: PodSettings, options: InjectionOptions): IContainer {
  const admin = settings.ports.admin;
  const container: IContainer = {
    name: SIDECAR_CONTAINER_NAME,
    image: options.image,
    imagePullPolicy: options.imagePullPolicy,
    args: ['run', '--config', SIDECAR_CONFIG_PATH],
    env: [
      { name: 'MESHWARD_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'MESHWARD_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'MESHWARD_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      // Span resource attributes (README "Tracing with Jaeger"); $(VAR) is expanded by the kubelet.
      {
        name: 'OTEL_RESOURCE_ATTRIBUTES',
        value: 'k8s.pod.name=$(MESHWARD_POD_NAME),k8s.namespace.name=$(MESHWARD_POD_NAMESPACE),k8s.node.name=$(MESHWARD_NODE_NAME)',
      },
    ],
    ports: [
      { name: PORT_NAMES.inbound, containerPort: settings.ports.inbound, protocol: 'TCP' },
      { name: PORT_NAMES.admin, containerPort: admin, protocol: 'TCP' },
    ],
    // startup gates the app in native mode: the kubelet starts the app containers only
    // once this passes, so the app never runs before meshward is ready (DESIGN §6 /readyz).
    startupProbe: { httpGet: { path: '/readyz', port: admin }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 120 },
    readinessProbe: { httpGet: { path: '/readyz', port: admin }, periodSeconds: 5, timeoutSeconds: 1, failureThreshold: 3 },
    livenessProbe: { httpGet: { path: '/healthz', port: admin }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    resources: {
      requests: { ...settings.resources.requests },
      limits: {
        ...(settings.resources.limits.cpu === undefined ? {} : { cpu: settings.resources.limits.cpu }),
        memory: settings.resources.limits.memory,
      },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: options.runAsUser,
      runAsGroup: options.runAsGroup,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: VOLUME_NAMES.certs, mountPath: SIDECAR_PATHS.certDir, readOnly: true },
      { name: VOLUME_NAMES.policies, mountPath: SIDECAR_PATHS.policiesDir, readOnly: true },
      { name: VOLUME_NAMES.config, mountPath: SIDECAR_PATHS.configDir, readOnly: true },
      { name: VOLUME_NAMES.tmp, mountPath: SIDECAR_PATHS.tmpDir },
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  if (settings.outboundRoutes.length > 0) {
    container.ports?.push({ name: 'meshward-out', containerPort: settings.ports.outbound, protocol: 'TCP' });
  }
  // Native sidecar (KEP-753, Kubernetes >= 1.29): started before the app, stopped after it,
  // and it does not keep a Job's pod alive.
  if (settings.sidecarMode === 'native') container.restartPolicy = 'Always';
  return container;
}

export function sidecarVolumes(settings: PodSettings, options: InjectionOptions): IVolume[] {
  const certs: IVolume =
    settings.certSecret !== undefined
      ? // Secret files belong to root; 0444 so the non-root sidecar can read them. Only meshward mounts the volume.
        { name: VOLUME_NAMES.certs, secret: { secretName: settings.certSecret, defaultMode: 0o444 } }
      : {
          name: VOLUME_NAMES.certs,
          csi: {
            driver: options.certificates.csiDriver,
            readOnly: true,
            // csi-driver-spiffe makes the files readable by this group (the sidecar's runAsGroup);
            // without it they belong to root and the non-root sidecar cannot read the key.
            ...(options.certificates.csiDriver === SPIFFE_CSI_DRIVER
              ? { volumeAttributes: { 'spiffe.csi.cert-manager.io/fs-group': String(options.runAsGroup) } }
              : {}),
          },
        };
  return [
    certs,
    { name: VOLUME_NAMES.policies, configMap: { name: settings.policiesConfigMap, optional: true } },
    {
      name: VOLUME_NAMES.config,
      downwardAPI: {
        defaultMode: 0o444,
        items: [{ path: SIDECAR_PATHS.configFile, fieldRef: { fieldPath: `metadata.annotations['${CONFIG_ANNOTATION}']` } }],
      },
    },
    { name: VOLUME_NAMES.tmp, emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
  ];
}
