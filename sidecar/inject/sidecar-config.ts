// The sidecar config file (DESIGN §3) an injected meshward runs with, generated per pod
// and checked with the sidecar's own loader before it is used, so an injection never
// produces a sidecar that exits 2. CONTROL path; pure (parseConfig reads no files).
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../config/load.js';
import { SIDECAR_SECTIONS, type InjectionOptions } from './injection-options.js';
import type { PodSettings } from './pod-overrides.js';

/** Where the injected container finds its files (volumes in sidecar-container.ts). */
export const SIDECAR_PATHS = {
  certDir: '/var/run/secrets/meshward',
  policiesDir: '/etc/meshward/policies',
  configDir: '/etc/meshward/config',
  configFile: 'sidecar.yaml',
  tmpDir: '/tmp',
} as const;

export const SIDECAR_CONFIG_PATH = `${SIDECAR_PATHS.configDir}/${SIDECAR_PATHS.configFile}`;

/** How problems in the generated config name it: the file the sidecar will read. */
const CONFIG_SOURCE_NAME = SIDECAR_CONFIG_PATH;

/** The config as a plain object, keys in DESIGN §3 order. */
export function sidecarConfigObject(settings: PodSettings, options: InjectionOptions): Record<string, unknown> {
  const certs = SIDECAR_PATHS.certDir;
  const config: Record<string, unknown> = {
    apiVersion: 'meshward.dev/v1alpha1',
    kind: 'Sidecar',
    identity: {
      trustDomain: options.trustDomain,
      certFile: `${certs}/tls.crt`,
      keyFile: `${certs}/tls.key`,
      caFile: `${certs}/ca.crt`,
    },
    inbound: {
      listen: `0.0.0.0:${settings.ports.inbound}`,
      mtls: settings.mtls,
      app: `127.0.0.1:${settings.ports.app}`,
    },
  };
  if (settings.outboundRoutes.length > 0) {
    config.outbound = { listen: `127.0.0.1:${settings.ports.outbound}`, routes: settings.outboundRoutes.map((r) => ({ ...r })) };
  }
  // The kubelet probes the admin port on the pod IP, so it cannot stay on loopback; off
  // loopback only the probes are open, the rest needs mTLS from admin.allow (DESIGN §12).
  config.admin = { listen: `0.0.0.0:${settings.ports.admin}`, ...(options.adminAllow.length === 0 ? {} : { allow: [...options.adminAllow] }) };
  config.policies = [SIDECAR_PATHS.policiesDir];
  for (const key of SIDECAR_SECTIONS) {
    const section = options.sidecar[key];
    if (section !== undefined) config[key] = structuredClone(section);
  }
  if (settings.workers !== 1) config.workers = settings.workers;
  if (settings.serviceName !== undefined) {
    config.telemetry = { ...(config.telemetry as Record<string, unknown> | undefined), serviceName: settings.serviceName };
  }
  return config;
}

export type SidecarConfigResult = { ok: true; text: string } | { ok: false; problems: string[] };

/** The YAML text, validated with the sidecar's loader (`meshward run` would accept it). */
export function renderSidecarConfig(settings: PodSettings, options: InjectionOptions): SidecarConfigResult {
  const text = stringify(sidecarConfigObject(settings, options), { lineWidth: 0 });
  try {
    parseConfig(text, CONFIG_SOURCE_NAME);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { ok: false, problems: err.problems.map((p) => `the generated sidecar config is invalid: ${p}`) };
  }
  return { ok: true, text };
}
