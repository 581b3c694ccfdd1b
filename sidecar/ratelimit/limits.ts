// Throttling, assembled from the sidecar config (CONTROL path): the store for rate limits
// (memory, or Redis shared by every replica), the limiter registry and its sweep timer, and
// the filter and observer the inbound pipeline runs after authz (limits-filter.ts).

import type { SidecarConfig } from '../config/schema.js';
import type { Filter } from '../core/filter.js';
import type { CallObserver } from '../core/observer.js';
import { LimiterRegistry } from './limiter-registry.js';
import { limitsFilter } from './limits-filter.js';
import { RedisLimitStore, type StoreStatus } from './redis-store.js';
import { limitStoreCollector } from './store-metrics.js';

/** Caller keys kept per rule in memory (token and byte buckets): ~150 bytes each. */
export const MAX_KEYS_PER_RULE = 10_000;
/** Caller keys per rule with a live Redis handle (a Bottleneck limiter: two subscriptions, a heartbeat). */
export const MAX_REDIS_KEYS_PER_RULE = 1_000;
const SWEEP_INTERVAL_MS = 10_000;

export interface Limits {
  readonly filter: Filter;
  readonly observer: CallObserver;
  /** The shared store's health (undefined for the memory store), for logs and metrics. */
  storeStatus(): StoreStatus | undefined;
  /** A /metrics collector: the shared store's health (meshward_ratelimit_store_*). */
  readonly metrics: () => string;
  /** Startup: waits (bounded) for the shared store's connection; resolves at once for memory. */
  connected(waitMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export function createLimits(config: SidecarConfig['rateLimit']): Limits {
  const store =
    config.store === 'redis'
      ? new RedisLimitStore({ url: config.redis.url, failMode: config.redis.failMode, timeoutMs: config.redis.timeout })
      : undefined;
  const registry = new LimiterRegistry({ store, maxKeysPerRule: MAX_KEYS_PER_RULE, maxRedisKeysPerRule: MAX_REDIS_KEYS_PER_RULE });
  const sweeper = setInterval(() => registry.sweep(), SWEEP_INTERVAL_MS);
  sweeper.unref();
  const { filter, observer } = limitsFilter(registry);
  return {
    filter,
    observer,
    storeStatus: () => store?.status(),
    metrics: limitStoreCollector(() => store?.status()),
    connected: (waitMs) => (store === undefined ? Promise.resolve(true) : store.connected(waitMs)),
    async close() {
      clearInterval(sweeper);
      registry.close();
      await store?.close();
    },
  };
}
