// The per-pod settings of an injection: the injection options, overridden by the pod's
// `meshward.dev/*` annotations. Every problem is reported (annotation name, value, what
// was expected); an unknown `meshward.dev/` annotation is a problem, as an unknown config
// key is (DESIGN §3). CONTROL path; pure.
import { parse as parseYaml } from 'yaml';
import { describeValue, didYouMean } from '../config/issue-message.js';
import {
  isObjectName,
  isQuantity,
  SIDECAR_MODES,
  type InjectionOptions,
  type SidecarMode,
} from './injection-options.js';

/** The pod label that opts a pod out (`"false"`); also the namespace opt-in label (`enabled`). */
export const INJECT_LABEL = 'meshward.dev/inject';
export const NAMESPACE_OPT_IN_VALUE = 'enabled';

/** Annotations the injection writes. */
export const INJECTED_ANNOTATION = 'meshward.dev/injected';
export const CONFIG_ANNOTATION = 'meshward.dev/config';

/** Annotations a pod may set (README "Kubernetes" lists them). */
export const OVERRIDE_ANNOTATIONS = {
  appPort: 'meshward.dev/app-port',
  inboundPort: 'meshward.dev/inbound-port',
  adminPort: 'meshward.dev/admin-port',
  outboundPort: 'meshward.dev/outbound-port',
  outboundRoutes: 'meshward.dev/outbound-routes',
  policies: 'meshward.dev/policies',
  mtls: 'meshward.dev/mtls',
  workers: 'meshward.dev/workers',
  serviceName: 'meshward.dev/service-name',
  certSecret: 'meshward.dev/cert-secret',
  sidecarMode: 'meshward.dev/sidecar-mode',
  cpuRequest: 'meshward.dev/cpu-request',
  cpuLimit: 'meshward.dev/cpu-limit',
  memoryRequest: 'meshward.dev/memory-request',
  memoryLimit: 'meshward.dev/memory-limit',
} as const;

const KNOWN_ANNOTATIONS: readonly string[] = [...Object.values(OVERRIDE_ANNOTATIONS), INJECTED_ANNOTATION, CONFIG_ANNOTATION];

/** A route as written in `meshward.dev/outbound-routes`; the sidecar schema checks the values. */
export interface OutboundRoute {
  readonly authority: string;
  readonly address: string;
  readonly identity: string;
}

export interface PodSettings {
  readonly sidecarMode: SidecarMode;
  readonly ports: { readonly app: number; readonly inbound: number; readonly admin: number; readonly outbound: number };
  readonly outboundRoutes: readonly OutboundRoute[];
  readonly policiesConfigMap: string;
  readonly mtls: 'strict' | 'permissive';
  /** Sidecar worker processes (README "Workers"); 1 = one process, the config key left out. */
  readonly workers: number | 'auto';
  readonly serviceName: string | undefined;
  /** The Secret holding tls.crt, tls.key and ca.crt, or undefined for the CSI driver. */
  readonly certSecret: string | undefined;
  readonly resources: {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu: string | undefined; readonly memory: string };
  };
}

export interface PodFacts {
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** containerPort → container name, over the pod's own containers (not meshward's). */
  readonly containerPorts: ReadonlyMap<number, string>;
  /** The app port when no annotation names one (inject-pod.ts `guessAppPort`). */
  readonly appPort: AppPortGuess;
}

/** A port read off the containers' declarations, or why none could be chosen. */
export interface AppPortGuess {
  readonly port: number | undefined;
  /** Set when the declarations do not say which port is the app's. */
  readonly ambiguous?: string;
}

export type SettingsResult = { ok: true; settings: PodSettings } | { ok: false; problems: string[] };

const MAX_ROUTES = 256;

export function resolvePodSettings(pod: PodFacts, options: InjectionOptions): SettingsResult {
  const problems: string[] = [];
  const a = pod.annotations;
  const bad = (name: string, what: string): void => {
    problems.push(`annotation ${name}: expected ${what}, got ${describeValue(a[name])}`);
  };

  for (const name of Object.keys(a)) {
    if (!name.startsWith('meshward.dev/') || KNOWN_ANNOTATIONS.includes(name)) continue;
    const hint = didYouMean(name, KNOWN_ANNOTATIONS);
    problems.push(`unknown annotation ${JSON.stringify(name)}${hint === undefined ? '' : ` (did you mean ${JSON.stringify(hint)}?)`}`);
  }

  const portOf = (name: string, fallback: number): number => {
    const v = a[name];
    if (v === undefined) return fallback;
    if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
      bad(name, 'a port from 1 to 65535');
      return fallback;
    }
    return Number(v);
  };
  const ports = {
    app: portOf(OVERRIDE_ANNOTATIONS.appPort, pod.appPort.port ?? options.ports.app),
    inbound: portOf(OVERRIDE_ANNOTATIONS.inboundPort, options.ports.inbound),
    admin: portOf(OVERRIDE_ANNOTATIONS.adminPort, options.ports.admin),
    outbound: portOf(OVERRIDE_ANNOTATIONS.outboundPort, options.ports.outbound),
  };

  if (a[OVERRIDE_ANNOTATIONS.appPort] === undefined && pod.appPort.ambiguous !== undefined) {
    problems.push(`cannot tell the app's port: ${pod.appPort.ambiguous}; set annotation ${OVERRIDE_ANNOTATIONS.appPort}`);
  }

  const choice = <T extends string>(name: string, values: readonly T[], fallback: T): T => {
    const v = a[name];
    if (v === undefined) return fallback;
    if ((values as readonly string[]).includes(v)) return v as T;
    bad(name, `one of ${values.join(', ')}`);
    return fallback;
  };
  const named = (name: string, fallback: string | undefined): string | undefined => {
    const v = a[name];
    if (v === undefined) return fallback;
    if (isObjectName(v)) return v;
    bad(name, 'a Kubernetes object name (lowercase letters, digits, "-" and ".")');
    return fallback;
  };
  const amount = (name: string, fallback: string | undefined): string | undefined => {
    const v = a[name];
    if (v === undefined) return fallback;
    if (isQuantity(v)) return v;
    bad(name, 'a Kubernetes quantity such as 50m, 1, 64Mi or 1Gi');
    return fallback;
  };

  const workersOf = (name: string, fallback: number | 'auto'): number | 'auto' => {
    const v = a[name];
    if (v === undefined) return fallback;
    if (v === 'auto') return v;
    if (/^\d{1,2}$/.test(v) && Number(v) >= 1 && Number(v) <= 64) return Number(v);
    bad(name, 'a number of worker processes from 1 to 64, or auto');
    return fallback;
  };

  const serviceName = a[OVERRIDE_ANNOTATIONS.serviceName] ?? pod.labels['app.kubernetes.io/name'] ?? pod.labels['app'];
  if (serviceName !== undefined && !/^[\x21-\x7e]{1,253}$/.test(serviceName)) bad(OVERRIDE_ANNOTATIONS.serviceName, 'a service name without spaces');

  const outboundRoutes = parseRoutes(a[OVERRIDE_ANNOTATIONS.outboundRoutes], (what) => bad(OVERRIDE_ANNOTATIONS.outboundRoutes, what));

  const settings: PodSettings = {
    sidecarMode: choice(OVERRIDE_ANNOTATIONS.sidecarMode, SIDECAR_MODES, options.sidecarMode),
    ports,
    outboundRoutes,
    policiesConfigMap: named(OVERRIDE_ANNOTATIONS.policies, options.policiesConfigMap) ?? options.policiesConfigMap,
    mtls: choice(OVERRIDE_ANNOTATIONS.mtls, ['strict', 'permissive'] as const, options.mtls),
    workers: workersOf(OVERRIDE_ANNOTATIONS.workers, options.workers),
    serviceName,
    certSecret: named(OVERRIDE_ANNOTATIONS.certSecret, options.certificates.source === 'secret' ? options.certificates.secretName : undefined),
    resources: {
      requests: {
        cpu: amount(OVERRIDE_ANNOTATIONS.cpuRequest, options.resources.requests.cpu) ?? options.resources.requests.cpu,
        memory: amount(OVERRIDE_ANNOTATIONS.memoryRequest, options.resources.requests.memory) ?? options.resources.requests.memory,
      },
      limits: {
        cpu: amount(OVERRIDE_ANNOTATIONS.cpuLimit, options.resources.limits.cpu),
        memory: amount(OVERRIDE_ANNOTATIONS.memoryLimit, options.resources.limits.memory) ?? options.resources.limits.memory,
      },
    },
  };
  problems.push(...portConflicts(settings, pod.containerPorts));
  return problems.length === 0 ? { ok: true, settings } : { ok: false, problems };
}

/** `meshward.dev/outbound-routes`: a YAML or JSON list of {authority, address, identity}. */
function parseRoutes(text: string | undefined, bad: (what: string) => void): OutboundRoute[] {
  if (text === undefined) return [];
  const what = 'a YAML or JSON list of {authority, address, identity}';
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 0, uniqueKeys: true });
  } catch {
    bad(what);
    return [];
  }
  if (!Array.isArray(value) || value.length > MAX_ROUTES) {
    bad(`${what} (at most ${MAX_ROUTES})`);
    return [];
  }
  const routes: OutboundRoute[] = [];
  for (const item of value) {
    const r = item as Record<string, unknown> | null;
    const keys = typeof r === 'object' && r !== null && !Array.isArray(r) ? Object.keys(r).sort().join(',') : '';
    if (keys !== 'address,authority,identity' || typeof r?.authority !== 'string' || typeof r.address !== 'string' || typeof r.identity !== 'string') {
      bad(`${what}, each item with exactly these three string keys`);
      return [];
    }
    routes.push({ authority: r.authority, address: r.address, identity: r.identity });
  }
  return routes;
}

/** The sidecar's listeners must not collide with each other, the app port or the app's container ports. */
function portConflicts(s: PodSettings, containerPorts: ReadonlyMap<number, string>): string[] {
  const problems: string[] = [];
  const own: Array<[string, number]> = [
    ['inbound', s.ports.inbound],
    ['admin', s.ports.admin],
    ...(s.outboundRoutes.length > 0 ? ([['outbound', s.ports.outbound]] as Array<[string, number]>) : []),
  ];
  const seen = new Map<number, string>([[s.ports.app, 'app']]);
  for (const [name, p] of own) {
    const other = seen.get(p) ?? (containerPorts.has(p) ? `container ${JSON.stringify(containerPorts.get(p))}` : undefined);
    if (other !== undefined) {
      problems.push(`meshward's ${name} port ${p} is also the ${other} port; choose another with annotation meshward.dev/${name}-port`);
    }
    seen.set(p, `meshward ${name}`);
  }
  return problems;
}
