// The limiters behind the compiled limit rules (CONTROL path: built when a policy snapshot is
// published; the data path only reads the tables). One limiter per limit id and numbers: a
// reload that keeps a limit's rule id and numbers keeps its state (a reload does not hand every
// caller a fresh bucket). A timer sweeps idle keys and retires limiters no current rule uses.

import { realTimers, type Timers } from '../core/timers.js';
import type { BandwidthRule, CompiledGraphqlRule, CompiledMethodRule, ConcurrencyRule, PolicySnapshot, RateLimitRule } from '../policy/model.js';
import { BandwidthLimiter } from './bandwidth-limiter.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './frame-size-guard.js';
import { formatLimitKey, keyReader, type KeyReader } from './limit-key.js';
import { concurrencyRejection, messageTooLargeRejection } from './limit-rejections.js';
import type { LimiterEntry, LimitTables, RateHandle, RuleLimits } from './limit-tables.js';
import { MemoryRateLimiter, type RateLimiter } from './memory-rate-limiter.js';

/** Where rate limits are counted when not in this process alone: Redis, or the workers' primary (app/limits.ts). */
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

interface Entry<L> extends LimiterEntry<L> {
  /** Sweeps in a row that found it unused. */
  idleSweeps: number;
  /** False once retired: a rule object still holding it gets a new entry. */
  live: boolean;
}

type AnyLimiter = RateLimiter | ConcurrencyLimiter | BandwidthLimiter;

/** A limiter no current rule uses, unused for this many sweeps in a row, is closed and forgotten. */
const UNUSED_SWEEPS = 60;

const DEFAULT_TOO_LARGE = messageTooLargeRejection(DEFAULT_MAX_MESSAGE_BYTES, undefined);
const NO_LIMITS: RuleLimits = Object.freeze({
  rate: Object.freeze([]),
  concurrency: Object.freeze([]),
  bandwidth: Object.freeze([]),
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  tooLarge: DEFAULT_TOO_LARGE,
});

export class LimiterRegistry {
  readonly #opts: RegistryOptions;
  readonly #now: () => number;
  readonly #workers: number;

  /** Worker processes sharing the sidecar's listeners: concurrency and bandwidth are split by it. */
  get workers(): number {
    return this.#workers;
  }
  readonly #byRule = new WeakMap<object, Entry<unknown>>();
  readonly #byId = new Map<string, Entry<AnyLimiter>>();
  /** The ids the latest published tables use; never retired while current. */
  #current = new Set<string>();

  constructor(opts: RegistryOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#workers = Math.max(1, opts.workers ?? 1);
  }

  /**
   * The tables for a newly published snapshot: every rule's limiters (kept from the previous
   * snapshot where id and numbers match) and prepared refusals.
   */
  publish(policy: PolicySnapshot): LimitTables {
    const current = new Set<string>();
    const byRule = new Map<CompiledMethodRule, RuleLimits>();
    const budgets = new Map<CompiledGraphqlRule, readonly RateHandle[]>();
    const track = <L>(id: string, entry: LimiterEntry<L>): LimiterEntry<L> => (current.add(id), entry);
    const limitsOf = (rule: CompiledMethodRule): RuleLimits => {
      const enforced = rule.mode !== 'audit';
      // A rule whose policies are all in audit mode does not enforce its own size; gRPC's default still holds.
      const size = enforced && rule.maxMessageBytes !== undefined ? rule.maxMessageBytes : undefined;
      return Object.freeze({
        rate: Object.freeze(rule.rateLimits.map((r) => Object.freeze({ entry: track(rateId(r), this.rate(r)), mode: r.mode }))),
        concurrency: Object.freeze(
          rule.concurrency.map((c) =>
            Object.freeze({
              entry: track(concurrencyId(c), this.concurrency(c)),
              mode: c.mode,
              queueTimeoutMs: c.queueTimeoutMs,
              full: concurrencyRejection(c, 'queue_full', c.queueTimeoutMs, this.#workers),
              timeout: concurrencyRejection(c, 'queue_timeout', c.queueTimeoutMs, this.#workers),
            }),
          ),
        ),
        bandwidth: Object.freeze(rule.bandwidth.filter((b) => b.mode !== 'audit').map((b) => Object.freeze({ entry: track(bandwidthId(b), this.bandwidth(b)) }))),
        maxMessageBytes: size ?? DEFAULT_MAX_MESSAGE_BYTES,
        tooLarge: size === undefined ? DEFAULT_TOO_LARGE : messageTooLargeRejection(size, rule.sources[0]?.id),
      });
    };
    for (const rule of policy.grpc) byRule.set(rule, limitsOf(rule));
    for (const path of new Set(policy.graphql.map((g) => g.rule.path))) {
      const rule = policy.graphqlRule(path);
      if (rule === undefined) continue;
      byRule.set(rule.access, limitsOf(rule.access));
      budgets.set(rule, Object.freeze(rule.costBudgets.map((r) => Object.freeze({ entry: track(rateId(r), this.rate(r)), mode: r.mode }))));
    }
    this.#current = current;
    return {
      forRule: (rule) => (rule === undefined ? NO_LIMITS : (byRule.get(rule) ?? NO_LIMITS)),
      costBudgets: (rule) => budgets.get(rule) ?? [],
    };
  }

  rate(rule: RateLimitRule): LimiterEntry<RateLimiter> {
    return this.#entry(rule, rateId(rule), () => ({
      limiter:
        this.#opts.store === undefined
          ? new MemoryRateLimiter(rule, { maxKeys: this.#opts.maxKeysPerRule, now: this.#opts.now })
          : this.#opts.store.rateLimiter(rule, { maxKeys: this.#opts.maxRedisKeysPerRule }),
      read: keyReader(rule.by),
    }));
  }

  concurrency(rule: ConcurrencyRule): LimiterEntry<ConcurrencyLimiter> {
    return this.#entry(rule, concurrencyId(rule), () => ({
      limiter: new ConcurrencyLimiter(Math.ceil(rule.max / this.#workers), Math.ceil(rule.queue / this.#workers), this.#opts.timers ?? realTimers),
      read: () => undefined,
    }));
  }

  bandwidth(rule: BandwidthRule): LimiterEntry<BandwidthLimiter> {
    return this.#entry(rule, bandwidthId(rule), () => ({
      limiter: new BandwidthLimiter(this.#workers === 1 ? rule : { ...rule, bytesPerSecond: rule.bytesPerSecond / this.#workers }, { maxKeys: this.#opts.maxKeysPerRule, now: this.#opts.now }),
      read: keyReader(rule.by),
    }));
  }

  /** Sweeps idle keys of every limiter; retires limiters no current rule uses, unused for UNUSED_SWEEPS sweeps. */
  sweep(): void {
    const now = this.#now();
    for (const [id, entry] of this.#byId) {
      entry.idleSweeps = entry.used ? 0 : entry.idleSweeps + 1;
      entry.used = false;
      const unused = entry.idleSweeps > UNUSED_SWEEPS && !this.#current.has(id);
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

  #entry<L extends AnyLimiter>(rule: object, id: string, make: () => { limiter: L; read: KeyReader }): Entry<L> {
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

function rateId(rule: RateLimitRule): string {
  return `rate|${rule.rule}|${rule.requests}|${rule.perMs}|${rule.burst ?? 0}|${formatLimitKey(rule.by)}`;
}

function concurrencyId(rule: ConcurrencyRule): string {
  return `concurrency|${rule.rule}|${rule.max}|${rule.queue}|${rule.queueTimeoutMs ?? ''}`;
}

function bandwidthId(rule: BandwidthRule): string {
  return `bandwidth|${rule.rule}|${rule.bytesPerSecond}|${formatLimitKey(rule.by)}`;
}

