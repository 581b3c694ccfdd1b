// GET /overview: what the dashboard's header shows (DESIGN §12) — this sidecar's identity and
// certificate expiry, mTLS mode, policy version and last reload (with its error), whether
// the admin listener requires mTLS, and where traces are viewed. Control path, per request.

import type { SidecarConfig } from '../config/schema.js';
import type { WorkloadIdentity } from '../identity/workload-identity.js';
import type { PolicyStatus } from '../policy/policy-store.js';
import type { TapStats } from '../tap/tap-hub.js';
import { isLoopbackHost } from './admin-access.js';

export interface AdminOverview {
  readonly service: string | null;
  readonly identity: { readonly spiffeId: string; readonly notAfter: string; readonly notBefore: string };
  readonly inbound: { readonly listen: string; readonly mtls: 'strict' | 'permissive' };
  readonly admin: { readonly mtlsRequired: boolean; readonly allow: readonly string[] };
  /** Policy snapshot version, sources, when it loaded, reload counts and the last reload error (if the last attempt failed). */
  readonly policies: PolicyStatus & { readonly graphqlSchema?: unknown };
  /** `telemetry.jaegerUrl`: trace ids link to `${jaegerUrl}/trace/${traceId}`. */
  readonly jaegerUrl: string | null;
  readonly workers: number;
  readonly startedAt: string;
  readonly tap: TapStats | null;
}

export interface OverviewSources {
  readonly config: SidecarConfig;
  readonly identity: () => WorkloadIdentity;
  readonly policies: () => AdminOverview['policies'];
  readonly tap?: () => TapStats;
  /** The inbound listener's bound address, once it listens (the config may say port 0). */
  readonly inboundAddress?: () => string | undefined;
  readonly startedAt: Date;
}

export function overviewOf(src: OverviewSources): AdminOverview {
  const { config } = src;
  const id = src.identity();
  const listen = config.inbound.listen;
  return {
    service: config.telemetry.serviceName ?? null,
    identity: { spiffeId: id.spiffeId, notAfter: new Date(id.notAfter).toISOString(), notBefore: new Date(id.notBefore).toISOString() },
    inbound: {
      listen: src.inboundAddress?.() ?? (listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`),
      mtls: config.inbound.mtls,
    },
    admin: { mtlsRequired: !isLoopbackHost(config.admin.listen.host), allow: config.admin.allow },
    policies: src.policies(),
    jaegerUrl: config.telemetry.jaegerUrl ?? null,
    workers: config.workers,
    startedAt: src.startedAt.toISOString(),
    tap: src.tap?.() ?? null,
  };
}
