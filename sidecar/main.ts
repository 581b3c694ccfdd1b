// Process assembly (control path): load identity, start the admin and inbound
// listeners, and drain on shutdown. The request path itself lives in proxy/.

import type { AddressInfo } from 'node:net';
import { startAdminServer } from './admin/admin-server.js';
import type { SidecarConfig } from './config/schema.js';
import { log } from './core/log.js';
import { loadWorkloadIdentity } from './identity/workload-identity.js';
import { GrpcForwarder } from './proxy/grpc-forwarder.js';
import { createInboundPipeline } from './proxy/inbound-pipeline.js';
import { startInboundListener } from './proxy/inbound-listener.js';
import { UpstreamPool } from './proxy/upstream-pool.js';

export interface RunningSidecar {
  readonly inbound: AddressInfo;
  readonly admin: AddressInfo;
  /** Graceful stop: not ready, stop accepting, drain in-flight calls (bounded). */
  stop(): Promise<void>;
}

export async function startSidecar(config: SidecarConfig): Promise<RunningSidecar> {
  const identity = loadWorkloadIdentity(config.identity);
  let draining = false;
  let inboundUp = false;
  const admin = await startAdminServer(config.admin.listen, {
    notReadyReasons: () => [...(draining ? ['draining'] : []), ...(inboundUp ? [] : ['inbound listener not started'])],
  });

  if (config.inbound.allowAnyAuthenticated) {
    log.warn('INSECURE DEFAULT RELAXED: inbound.allowAnyAuthenticated is on; every caller with a valid SPIFFE ID is allowed every method');
  }
  if (config.inbound.mtls === 'permissive') {
    log.warn('inbound.mtls is permissive: plaintext callers are accepted as unauthenticated');
  }

  const pool = new UpstreamPool(config.inbound.app);
  const onStream = createInboundPipeline({
    maxTimeoutMs: config.inbound.maxTimeout,
    maxHeaderListBytes: config.inbound.limits.maxHeaderListBytes,
    allowAnyAuthenticated: config.inbound.allowAnyAuthenticated,
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
    throw err;
  }
  inboundUp = true;

  let stopping: Promise<void> | undefined;
  return {
    inbound: inbound.address,
    admin: admin.address,
    stop() {
      stopping ??= (async () => {
        draining = true;
        log.info('draining', { timeoutMs: config.shutdown.drainTimeout });
        await inbound.close(config.shutdown.drainTimeout);
        await Promise.race([pool.close(), new Promise((r) => setTimeout(r, 1000).unref())]);
        pool.destroy();
        await admin.close();
      })();
      return stopping;
    },
  };
}

export function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
