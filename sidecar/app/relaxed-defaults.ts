// The secure defaults a config relaxes (CONTROL path): logged at startup and listed at GET
// /config (config-view.ts).

import type { SidecarConfig } from '../config/schema.js';

/** Secure defaults the config relaxes; logged at startup and shown in /config (DESIGN §4). */
export function relaxedDefaults(config: SidecarConfig): string[] {
  const relaxed: string[] = [];
  if (config.inbound.allowAnyAuthenticated) relaxed.push('inbound.allowAnyAuthenticated: calls no policy rule matches are allowed for any verified SPIFFE ID');
  if (config.inbound.mtls === 'permissive') relaxed.push('inbound.mtls: permissive: plaintext callers are accepted as unauthenticated');
  if (config.rateLimit.store === 'redis' && config.rateLimit.redis.failMode === 'open') relaxed.push('rateLimit.redis.failMode: open');
  if (config.catalog.protos.length > 0 && config.catalog.undeclared !== 'deny') {
    relaxed.push(`catalog.undeclared: ${config.catalog.undeclared}: calls to gRPC methods not declared in catalog.protos are ${config.catalog.undeclared === 'audit' ? 'forwarded and audited' : 'forwarded'}`);
  }
  return relaxed;
}
