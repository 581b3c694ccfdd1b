// Throttling, assembled from the sidecar config (CONTROL path): the store for rate limits
// (memory, leases from the workers' primary, or Redis shared by every replica — ioredis and
// Bottleneck load only then), the limiter registry that builds each published snapshot's limit
// tables, and its sweep timer. The limit filters themselves are in filters/.

import type { SidecarConfig } from '../config/schema.js';
import { LeasedRateLimiter, type LeaseAsk } from '../ratelimit/leased-rate-limiter.js';
import { LimiterRegistry, type SharedRateStore } from '../ratelimit/limiter-registry.js';
import type { RedisLimitStore, StoreStatus } from '../ratelimit/redis-store.js';
import { limitStoreCollector } from '../telemetry/limit-store-metrics.js';

/** Caller keys kept per rule in memory (token and byte buckets): ~150 bytes each. */
export const MAX_KEYS_PER_RULE = 10_000;
/** Caller keys per rule with a live Redis handle (a Bottleneck limiter: two subscriptions, a heartbeat). */
export const MAX_REDIS_KEYS_PER_RULE = 1_000;
const SWEEP_INTERVAL_MS = 10_000;

export interface Limits {
  /** Builds the limit tables of each published policy snapshot (app/snapshots.ts). */
  readonly registry: LimiterRegistry;
  /** The shared store's health (undefined for the memory store), for logs and metrics. */
  storeStatus(): StoreStatus | undefined;
  /** A /metrics collector: the shared store's health (meshward_ratelimit_store_*). */
  readonly metrics: () => string;
  /** Startup: waits (bounded) for the shared store's connection; resolves at once for memory. */
  connected(waitMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** This process is one of `count` workers (app/primary.ts): memory rate limits lease tokens through `ask`. */
export interface WorkerShare {
  readonly count: number;
  readonly ask: LeaseAsk;
}

export async function createLimits(config: SidecarConfig['rateLimit'], workers?: WorkerShare): Promise<Limits> {
  let store: RedisLimitStore | undefined;
  let shared: SharedRateStore | undefined;
  if (config.store === 'redis') {
    const [{ RedisLimitStore }, { RedisRateLimiter }] = await Promise.all([import('../ratelimit/redis-store.js'), import('../ratelimit/redis-rate-limiter.js')]);
    const redis = new RedisLimitStore({ url: config.redis.url, failMode: config.redis.failMode, timeoutMs: config.redis.timeout });
    store = redis;
    shared = { rateLimiter: (rule, opts) => new RedisRateLimiter(rule, redis, opts) };
  } else if (workers !== undefined && workers.count > 1) {
    shared = { rateLimiter: (rule) => new LeasedRateLimiter(rule, { ask: workers.ask, workers: workers.count, maxKeys: MAX_KEYS_PER_RULE }) };
  }
  const registry = new LimiterRegistry({
    store: shared,
    workers: workers?.count,
    maxKeysPerRule: MAX_KEYS_PER_RULE,
    maxRedisKeysPerRule: MAX_REDIS_KEYS_PER_RULE,
  });
  const sweeper = setInterval(() => registry.sweep(), SWEEP_INTERVAL_MS);
  sweeper.unref();
  return {
    registry,
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
