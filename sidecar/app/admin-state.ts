// What the admin endpoints show of a running sidecar (CONTROL path): readiness, the effective
// config (secrets redacted) with the relaxed secure defaults, the policy and schema status.

import type { SidecarConfig } from '../config/schema.js';

/** Secure defaults the config relaxes; logged at startup and shown in /config (DESIGN §4). */
export function relaxedDefaults(config: SidecarConfig): string[] {
  const relaxed: string[] = [];
  if (config.inbound.allowAnyAuthenticated) relaxed.push('inbound.allowAnyAuthenticated: calls no policy rule matches are allowed for any verified SPIFFE ID');
  if (config.inbound.mtls === 'permissive') relaxed.push('inbound.mtls: permissive: plaintext callers are accepted as unauthenticated');
  if (config.rateLimit.store === 'redis' && config.rateLimit.redis.failMode === 'open') relaxed.push('rateLimit.redis.failMode: open');
  return relaxed;
}

/** The config as /config shows it: the Redis URL's password hidden. */
export function redact(config: SidecarConfig): unknown {
  const url = config.rateLimit.redis.url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  return { ...config, rateLimit: { ...config.rateLimit, redis: { ...config.rateLimit.redis, url } } };
}
