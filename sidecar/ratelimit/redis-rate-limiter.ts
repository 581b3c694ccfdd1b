// A rate limit shared by every replica (`rateLimit.store: redis`, data path, one Redis round
// trip per call): per caller key, a Bottleneck limiter whose reservoir lives in Redis — all
// replicas naming the same rule and key share it. Bounded by the store's timeout; on failure
// the store's failMode answers. Local handles sit in a bounded table; Redis expires idle keys.

import Bottleneck from 'bottleneck';
import type { Rejection } from '../core/filter.js';
import type { RateLimitRule } from '../policy/model.js';
import { KeyTable } from './key-table.js';
import { formatLimitKey } from './limit-key.js';
import { LimitReason, rateLimitRejection, STORE_UNAVAILABLE } from './limit-rejections.js';
import { bucketShape, type RateLimiter, type TakeResult } from './memory-rate-limiter.js';
import { UNAVAILABLE, type RedisLimitStore } from './redis-store.js';

interface Handle {
  readonly limiter: Bottleneck;
  lastUsed: number;
}

/** A local handle unused this long is dropped (its Redis state stays until Redis expires it). */
const HANDLE_IDLE_MS = 60_000;

/** The handle's Redis state is gone (Redis restarted, or the keys expired): make a new handle. */
const STALE: unique symbol = Symbol('stale handle');

/**
 * Bottleneck re-creates missing state itself when a script answers SETTINGS_KEY_NOT_FOUND or
 * UNKNOWN_CLIENT — by comparing the whole message, and Redis 7 sends "ERR SETTINGS_KEY_NOT_FOUND"
 * (a Lua error_reply without an error code gets "ERR "). So that recovery never runs: do it here.
 */
function isStale(err: unknown): boolean {
  return err instanceof Error && /(?:^|\s)(?:SETTINGS_KEY_NOT_FOUND|UNKNOWN_CLIENT)$/.test(err.message);
}

export class RedisRateLimiter implements RateLimiter {
  readonly #store: RedisLimitStore;
  readonly #table: KeyTable<Handle>;
  readonly #refusal: Rejection;
  readonly #unavailable: Rejection;
  readonly #options: Bottleneck.ConstructorOptions;
  readonly #idPrefix: string;

  constructor(
    readonly rule: RateLimitRule,
    store: RedisLimitStore,
    opts: { maxKeys: number },
  ) {
    const shape = bucketShape(rule);
    const capacity = shape.capacity;
    const refillMs = capacity / shape.ratePerMs;
    this.#store = store;
    this.#refusal = rateLimitRejection(rule);
    this.#unavailable = Object.freeze({ ...STORE_UNAVAILABLE, rule: rule.rule, reason: LimitReason.LIMIT_STORE_UNAVAILABLE });
    // Replicas with the same policy build the same id, so they share the reservoir. The
    // numbers are part of it: a changed limit starts a new reservoir rather than reusing one
    // whose settings Redis already holds.
    this.#idPrefix = `meshward:${rule.rule}:${rule.requests}/${rule.perMs}+${rule.burst ?? 0}:${formatLimitKey(rule.by)}`;
    this.#options = {
      connection: store.connection,
      // The reservoir is the bucket: one token back every per/requests ms. Bottleneck takes
      // before it refills and caps after: reservoir' = min(reservoir - 1 + refill, maximum),
      // which is exactly a token bucket of capacity maximum + 1 whose stored value is the
      // tokens left after the take. Hence maximum = capacity - 1, and a new bucket starts full.
      reservoir: capacity,
      reservoirIncreaseInterval: rule.perMs / rule.requests,
      reservoirIncreaseAmount: 1,
      reservoirIncreaseMaximum: capacity - 1,
      // Redis forgets a key idle this long; by then it would have refilled anyway.
      timeout: Math.ceil(Math.max(refillMs + 10_000, 60_000)),
      // Nothing is ever queued through these limiters: keep Bottleneck's bookkeeping quiet.
      heartbeatInterval: 30_000,
      clientTimeout: 300_000,
    };
    this.#table = new KeyTable<Handle>({
      max: opts.maxKeys,
      create: (key, now) => ({ limiter: this.#newLimiter(key), lastUsed: now }),
      isIdle: (h, now) => now - h.lastUsed > HANDLE_IDLE_MS,
      onRemove: (h) => dropHandle(h.limiter),
    });
  }

  get keys(): number {
    return this.#table.size;
  }

  take(key: string | undefined, weight = 1): Promise<TakeResult> | TakeResult {
    // Known to be down: answer by failMode at once, without making a handle for the key.
    if (!this.#store.up) return this.#store.unavailable() ? this.#unavailable : undefined;
    const tableKey = key === undefined ? '\u0000anonymous' : `k:${key}`;
    return this.#take(tableKey, weight, performance.now() + this.#store.timeoutMs, true);
  }

  /** One attempt; a stale handle is replaced and tried once more, within the same deadline. */
  #take(tableKey: string, weight: number, deadline: number, retry: boolean): Promise<TakeResult> {
    const now = performance.now();
    const handle = this.#table.get(tableKey, now);
    handle.lastUsed = now;
    return this.#increment(handle, -weight, deadline - now).then((left) => {
      if (left === STALE) {
        this.#table.delete(tableKey);
        if (retry && deadline - performance.now() > 1) return this.#take(tableKey, weight, deadline, false);
        return this.#store.unavailable() ? this.#unavailable : undefined;
      }
      if (left === UNAVAILABLE) {
        // The handle may be the broken kind (its setup failed for good while Redis was
        // away): drop it, the next call makes a new one.
        this.#table.delete(tableKey);
        return this.#store.failMode === 'closed' ? this.#unavailable : undefined;
      }
      if (left < 0) {
        // Over the limit: give the token back, so refusals do not eat into the next refill.
        void this.#increment(handle, weight);
        return this.#refusal;
      }
      return undefined;
    });
  }

  /** incrementReservoir through the store's bound; the reservoir left, STALE, or UNAVAILABLE. */
  #increment(handle: Handle, delta: number, timeoutMs?: number): Promise<number | typeof STALE | typeof UNAVAILABLE> {
    return this.#store.call(
      () => handle.limiter.incrementReservoir(delta).then(Number, (err: unknown) => (isStale(err) ? STALE : Promise.reject(err))),
      timeoutMs,
    );
  }

  sweep(now: number): void {
    this.#table.sweep(now);
  }

  close(): void {
    this.#table.clear();
  }

  #newLimiter(tableKey: string): Bottleneck {
    const limiter = new Bottleneck({ ...this.#options, id: `${this.#idPrefix}:${tableKey === '\u0000anonymous' ? '~anonymous' : tableKey}` });
    limiter.on('error', () => undefined); // failures reach `take` through the store's bound
    // A limiter whose setup failed rejects `ready` for good; `take` sees that as UNAVAILABLE
    // and drops the handle. Handled here so the rejection is never an unhandled one.
    limiter.ready().catch(() => undefined);
    return limiter;
  }
}

/**
 * Lets go of a local handle: unsubscribes its channels and stops its heartbeat. Its Redis
 * state stays for the other replicas until Redis expires it. (On a shared connection
 * Bottleneck's disconnect() returns nothing rather than a promise, and may throw.)
 */
function dropHandle(limiter: Bottleneck): void {
  try {
    void Promise.resolve(limiter.disconnect(false)).catch(() => undefined);
  } catch {
    // already disconnected
  }
}
