// The limiters behind the compiled limit rules (data path lookup, CONTROL path upkeep): one per
// rule, found by the frozen rule object in one WeakMap lookup. A policy reload compiles new
// rule objects; a limit whose id and numbers did not change keeps its state (a reload does
// not hand every caller a fresh bucket). A timer sweeps idle keys and forgets unused limiters.

import type { BandwidthRule, ConcurrencyRule, RateLimitRule } from '../policy/model.js';
import { BandwidthLimiter } from './bandwidth-limiter.js';
import { ConcurrencyLimiter, realTimers, type Timers } from './concurrency-limiter.js';
import { formatLimitKey, keyReader, type KeyReader } from './limit-key.js';
import { MemoryRateLimiter, type RateLimiter } from './memory-rate-limiter.js';

/** Where rate limits are counted when not in this process alone: Redis, or the workers' primary (limits.ts). */
export interface SharedRateStore {
  rateLimiter(rule: RateLimitRule, opts: { maxKeys: number }): RateLimiter;
}

export interface RegistryOptions {
  /** The shared store for rate limits; undefined = memory. */
  readonly store: SharedRateStore | undefined;
  /**
   * Worker processes sharing this sidecar's listeners (config `workers`, default 1): each
   * gets 1/N of every concurrency limit (queue too, rounded up) and of every bandwidth rate.
   */
  readonly workers?: number;
  /** Most caller keys per rule in memory (token and byte buckets). */
  readonly maxKeysPerRule: number;
  /** Most caller keys per rule with a live Redis handle (each holds two subscriptions). */
  readonly maxRedisKeysPerRule: number;
  readonly now?: () => number;
  readonly timers?: Timers;
}

interface Entry<L> {
  readonly limiter: L;
  readonly read: KeyReader;
  /** Used since the last sweep (a store per call, no clock read). */
  used: boolean;
  /** Sweeps in a row that found it unused. */
  idleSweeps: number;
  /** False once swept out: a rule object still holding it gets a new entry. */
  live: boolean;
}

/** A limiter unused for this many sweeps in a row (its rule left the policy) is closed and forgotten. */
const UNUSED_SWEEPS = 60;

export class LimiterRegistry {
  readonly #opts: RegistryOptions;
  readonly #now: () => number;
  readonly #workers: number;

  /** Worker processes sharing the sidecar's listeners: concurrency and bandwidth are split by it. */
  get workers(): number {
    return this.#workers;
  }
  readonly #byRule = new WeakMap<object, Entry<unknown>>();
  readonly #byId = new Map<string, Entry<RateLimiter | ConcurrencyLimiter | BandwidthLimiter>>();

  constructor(opts: RegistryOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#workers = Math.max(1, opts.workers ?? 1);
  }

  rate(rule: RateLimitRule): Entry<RateLimiter> {
    return this.#entry(rule, `rate|${rule.rule}|${rule.requests}|${rule.perMs}|${rule.burst ?? 0}|${formatLimitKey(rule.by)}`, () => ({
      limiter:
        this.#opts.store === undefined
          ? new MemoryRateLimiter(rule, { maxKeys: this.#opts.maxKeysPerRule, now: this.#opts.now })
          : this.#opts.store.rateLimiter(rule, { maxKeys: this.#opts.maxRedisKeysPerRule }),
      read: keyReader(rule.by),
    }));
  }

  concurrency(rule: ConcurrencyRule): Entry<ConcurrencyLimiter> {
    return this.#entry(rule, `concurrency|${rule.rule}|${rule.max}|${rule.queue}|${rule.queueTimeoutMs ?? ''}`, () => ({
      limiter: new ConcurrencyLimiter(Math.ceil(rule.max / this.#workers), Math.ceil(rule.queue / this.#workers), this.#opts.timers ?? realTimers),
      read: () => undefined,
    }));
  }

  bandwidth(rule: BandwidthRule): Entry<BandwidthLimiter> {
    return this.#entry(rule, `bandwidth|${rule.rule}|${rule.bytesPerSecond}|${formatLimitKey(rule.by)}`, () => ({
      limiter: new BandwidthLimiter(this.#workers === 1 ? rule : { ...rule, bytesPerSecond: rule.bytesPerSecond / this.#workers }, { maxKeys: this.#opts.maxKeysPerRule, now: this.#opts.now, timers: this.#opts.timers }),
      read: keyReader(rule.by),
    }));
  }

  /** Sweeps idle keys of every limiter; closes limiters unused for UNUSED_SWEEPS sweeps. */
  sweep(): void {
    const now = this.#now();
    for (const [id, entry] of this.#byId) {
      entry.idleSweeps = entry.used ? 0 : entry.idleSweeps + 1;
      entry.used = false;
      const unused = entry.idleSweeps > UNUSED_SWEEPS;
      const l = entry.limiter;
      if (l instanceof ConcurrencyLimiter) {
        if (l.inFlight === 0 && l.waiting === 0 && unused) this.#forget(id, entry);
        continue;
      }
      l.sweep(now);
      if (unused) {
        l.close();
        this.#forget(id, entry);
      }
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  close(): void {
    for (const [id, entry] of this.#byId) {
      if (!(entry.limiter instanceof ConcurrencyLimiter)) entry.limiter.close();
      this.#forget(id, entry);
    }
  }

  #forget(id: string, entry: Entry<unknown>): void {
    entry.live = false;
    this.#byId.delete(id);
  }

  #entry<L extends RateLimiter | ConcurrencyLimiter | BandwidthLimiter>(rule: object, id: string, make: () => { limiter: L; read: KeyReader }): Entry<L> {
    let entry = this.#byRule.get(rule) as Entry<L> | undefined;
    if (entry === undefined || !entry.live) {
      entry = this.#byId.get(id) as Entry<L> | undefined;
      if (entry === undefined) {
        entry = { ...make(), used: true, idleSweeps: 0, live: true };
        this.#byId.set(id, entry);
      }
      this.#byRule.set(rule, entry);
    }
    entry.used = true;
    return entry;
  }
}
