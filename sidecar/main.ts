// Process assembly (control path): load identity and policies, start the admin and
// inbound listeners, watch policies, and drain on shutdown. The request path itself
// lives in proxy/ (inbound-pipeline.ts has the filter order).

import type { AddressInfo } from 'node:net';
import { startAdminServer } from './admin/admin-server.js';
import { jwtAuthnFilterFor } from './authn/jwt-authn-filter.js';
import type { SidecarConfig } from './config/schema.js';
import { log } from './core/log.js';
import { loadWorkloadIdentity } from './identity/workload-identity.js';
import { PolicyStore } from './policy/policy-store.js';
import { GrpcForwarder } from './proxy/grpc-forwarder.js';
import { createInboundPipeline } from './proxy/inbound-pipeline.js';
import { startInboundListener } from './proxy/inbound-listener.js';
import { UpstreamPool } from './proxy/upstream-pool.js';
import { AuditLog } from './telemetry/audit-log.js';
import { auditObserver } from './telemetry/audit-record.js';

export interface RunningSidecar {
  readonly inbound: AddressInfo;
  readonly admin: AddressInfo;
  /** Reopens the audit log file (SIGHUP, after log rotation). */
  reopenLogs(): void;
  /** Graceful stop: not ready, stop accepting, drain in-flight calls (bounded). */
  stop(): Promise<void>;
}

/** Secure defaults the config relaxes; logged at startup and shown in /config (DESIGN §4). */
export function relaxedDefaults(config: SidecarConfig): string[] {
  const relaxed: string[] = [];
  if (config.inbound.allowAnyAuthenticated) relaxed.push('inbound.allowAnyAuthenticated: calls no policy rule matches are allowed for any verified SPIFFE ID');
  if (config.inbound.mtls === 'permissive') relaxed.push('inbound.mtls: permissive: plaintext callers are accepted as unauthenticated');
  if (config.rateLimit.store === 'redis' && config.rateLimit.redis.failMode === 'open') relaxed.push('rateLimit.redis.failMode: open');
  return relaxed;
}

/** Throws PolicyLoadError for invalid policies (exit 2), other errors for the rest (exit 1). */
export async function startSidecar(config: SidecarConfig): Promise<RunningSidecar> {
  const policies = new PolicyStore(config.policies, config.jwt.providers.map((p) => p.name));
  const identity = loadWorkloadIdentity(config.identity);
  const audit = new AuditLog(config.audit.file);
  const authn = jwtAuthnFilterFor(config.jwt.providers);
  let draining = false;
  let inboundUp = false;

  const relaxed = relaxedDefaults(config);
  for (const r of relaxed) log.warn(`INSECURE DEFAULT RELAXED: ${r}`);

  const admin = await startAdminServer(config.admin.listen, {
    notReadyReasons: () => [...(draining ? ['draining'] : []), ...(inboundUp ? [] : ['inbound listener not started'])],
    config: () => ({ relaxedDefaults: relaxed, config: redact(config) }),
    policies: () => policies.status(),
  });

  const pool = new UpstreamPool(config.inbound.app);
  const onStream = createInboundPipeline({
    maxTimeoutMs: config.inbound.maxTimeout,
    maxHeaderListBytes: config.inbound.limits.maxHeaderListBytes,
    allowAnyAuthenticated: config.inbound.allowAnyAuthenticated,
    authn: authn.filter,
    policies,
    observers: [auditObserver(audit, policies)],
    forwarder: new GrpcForwarder(pool, identity.spiffeId),
  });
  let inbound;
  try {
    inbound = await startInboundListener({
      listen: config.inbound.listen,
      mtls: config.inbound.mtls,
      trustDomain: config.identity.trustDomain,
      identity,
      limits: config.inbound.limits,
      onStream,
    });
  } catch (err) {
    await admin.close();
    pool.destroy();
    authn.close();
    throw err;
  }
  inboundUp = true;
  policies.watch();
  log.info('policies loaded', { version: policies.current.version, sources: policies.current.sources.length });

  let stopping: Promise<void> | undefined;
  return {
    inbound: inbound.address,
    admin: admin.address,
    reopenLogs: () => audit.reopen(),
    stop() {
      stopping ??= (async () => {
        draining = true;
        policies.close();
        log.info('draining', { timeoutMs: config.shutdown.drainTimeout });
        await inbound.close(config.shutdown.drainTimeout);
        await Promise.race([pool.close(), new Promise((r) => setTimeout(r, 1000).unref())]);
        pool.destroy();
        authn.close();
        await audit.close();
        await admin.close();
      })();
      return stopping;
    },
  };
}

function redact(config: SidecarConfig): unknown {
  const url = config.rateLimit.redis.url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  return { ...config, rateLimit: { ...config.rateLimit, redis: { ...config.rateLimit.redis, url } } };
}

export function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
