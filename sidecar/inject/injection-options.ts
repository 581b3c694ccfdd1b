// What every injected sidecar gets unless a pod annotation overrides it: image, mode,
// certificates, ports, resources and the sections copied into each generated sidecar
// config. The `injection` section of the injector config (injector-config.ts); also what
// `meshward inject` uses. CONTROL path.
import * as z from 'zod';
import { trustDomain } from '../config/fields.js';
import { expected, issueMessage } from '../config/issue-message.js';
import { createSidecarConfigSchema, type DeepReadonly } from '../config/schema.js';

/** Kept equal to package.json's version and the chart's appVersion (a test checks both). */
export const MESHWARD_VERSION = '0.1.0';
export const DEFAULT_IMAGE = `ghcr.io/meshward/meshward:${MESHWARD_VERSION}`;

/** How the sidecar joins the pod (see sidecar-container.ts). */
export const SIDECAR_MODES = ['native', 'container'] as const;
export type SidecarMode = (typeof SIDECAR_MODES)[number];

/** cert-manager's csi-driver-spiffe: one SVID per pod for its service account, rotated, key in tmpfs. */
export const SPIFFE_CSI_DRIVER = 'spiffe.csi.cert-manager.io';

// A Kubernetes resource quantity (apimachinery's resource.Quantity), e.g. 50m, 1, 1.5, 64Mi, 1e3.
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+|E[+-]?\d+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

export function isQuantity(s: string): boolean {
  return s.length <= 32 && QUANTITY.test(s);
}

export const quantity = z
  .string()
  .refine(isQuantity, { error: (iss) => expected('a Kubernetes quantity such as 50m, 1, 64Mi or 1Gi', iss.input) });

// RFC 1123 subdomain: Secret and ConfigMap names.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isObjectName(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

export const objectName = z
  .string()
  .refine(isObjectName, { error: (iss) => expected('a Kubernetes object name (lowercase letters, digits, "-" and ".")', iss.input) });

export const port = z.int().min(1).max(65535);

const image = z
  .string()
  .min(1)
  .max(512)
  .refine((s) => !/\s/.test(s), { error: (iss) => expected('an image reference without spaces', iss.input) });

// The sidecar config sections copied as written into every generated config (DESIGN §3):
// validated here by the sidecar's own schema, so a mistake shows at injector startup with
// its line, not in every pod. Kept raw (durations stay "50ms") because they are re-emitted as YAML.
export const SIDECAR_SECTIONS = ['jwt', 'rateLimit', 'telemetry', 'audit', 'shutdown', 'alerts'] as const;
export type SidecarSection = (typeof SIDECAR_SECTIONS)[number];

function sidecarSections() {
  const shape = createSidecarConfigSchema('/').shape;
  const checked = (key: SidecarSection) =>
    z
      .record(z.string(), z.unknown())
      .superRefine((value, ctx) => {
        const result = shape[key].safeParse(value, { error: issueMessage, reportInput: true });
        if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ ...issue });
      })
      .optional();
  return z.strictObject({
    jwt: checked('jwt'),
    rateLimit: checked('rateLimit'),
    telemetry: checked('telemetry'),
    audit: checked('audit'),
    shutdown: checked('shutdown'),
    alerts: checked('alerts'),
  });
}

/** The sidecar config's admin.allow (DESIGN §12), checked by the sidecar's own schema. */
function adminAllow() {
  const allow = createSidecarConfigSchema('/').shape.admin.unwrap().shape.allow;
  return allow.meta({
    description:
      'admin.allow of every injected sidecar: who may use its admin endpoints other than /healthz and /readyz (mTLS; the admin port is on the pod IP).',
  });
}

const resources = z.strictObject({
  requests: z.strictObject({ cpu: quantity.default('50m'), memory: quantity.default('64Mi') }).prefault({}),
  limits: z.strictObject({ cpu: quantity.optional(), memory: quantity.default('256Mi') }).prefault({}),
});

export const injectionOptionsSchema = z.strictObject({
  image: image.default(DEFAULT_IMAGE),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  sidecarMode: z
    .enum(SIDECAR_MODES)
    .default('native')
    .meta({ description: 'native: an init container with restartPolicy Always (Kubernetes >= 1.29); container: a regular container.' }),
  trustDomain: trustDomain.default('cluster.local'),
  certificates: z
    .strictObject({
      source: z.enum(['csi', 'secret']).default('csi'),
      csiDriver: z.string().min(1).default(SPIFFE_CSI_DRIVER),
      secretName: objectName.default('meshward-svid'),
    })
    .prefault({}),
  policiesConfigMap: objectName.default('meshward-policies'),
  mtls: z.enum(['strict', 'permissive']).default('strict'),
  workers: z
    .union([z.int().min(1).max(64), z.literal('auto')])
    .default(1)
    .meta({ description: 'Worker processes per sidecar (sidecar config `workers`); "auto" = one per CPU the container sees.' }),
  adminAllow: adminAllow(),
  ports: z
    .strictObject({
      inbound: port.default(7443),
      admin: port.default(7000),
      outbound: port.default(7001),
      app: port.default(8080),
    })
    .prefault({}),
  runAsUser: z.int().min(1).max(2_147_483_647).default(65532),
  runAsGroup: z.int().min(1).max(2_147_483_647).default(65532),
  resources: resources.prefault({}),
  sidecar: sidecarSections().prefault({}),
});

export type InjectionOptions = DeepReadonly<z.output<typeof injectionOptionsSchema>>;

/** The options with every default: what `meshward inject` uses without --config. */
export function defaultInjectionOptions(): InjectionOptions {
  return injectionOptionsSchema.parse({});
}
