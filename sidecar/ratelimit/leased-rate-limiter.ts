// A memory-store rate limit in a worker process (`workers` > 1; data path): tokens are leased
// from the primary's one bucket per limit and key (token-broker.ts) in batches, spent here
// synchronously and asked for again before they run out; a refusal is remembered.

import type { Rejection } from '../core/filter.js';
import type { RateLimitRule } from '../policy/model.js';
import { KeyTable } from './key-table.js';
import { formatLimitKey } from './limit-key.js';
import { LimitReason, rateLimitRejection, STORE_UNAVAILABLE } from './limit-rejections.js';
import { bucketShape, type RateLimiter, type TakeResult } from './memory-rate-limiter.js';
import type { LeaseGrant, LeaseRequest } from './token-broker.js';

/** Asks the primary; undefined = no answer in time (the waiting calls get 14 UNAVAILABLE: fail closed). */
export type LeaseAsk = (req: LeaseRequest) => Promise<LeaseGrant | undefined>;

/**
 * Leased tokens not spent within this long are dropped, so tokens taken from the bucket long
 * ago cannot be spent on top of a refilled bucket: at most N × 1¼ batches above one bucket's
 * count (a batch, and the rest of the previous one), and only within this time (README "Workers").
 */
export const LEASE_TTL_MS = 1000;
/** A refusal from the primary is reused for at most this long before asking again. */
const MAX_REFUSAL_CACHE_MS = 1000;
/** Largest batch a worker leases at once. */
const MAX_LEASE = 1000;

interface Lease {
  tokens: number;
  expiresAt: number;
  /** Until then the primary has fewer than `refusedWeight` tokens: calls needing as many are refused here. */
  refusedUntil: number;
  refusedWeight: number;
  /** The question in flight; resolves to false when the primary did not answer. */
  pending: Promise<boolean> | undefined;
}

const newLease = (): Lease => ({ tokens: 0, expiresAt: 0, refusedUntil: 0, refusedWeight: 0, pending: undefined });

/**
 * A batch is 1/8 of the bucket per worker (at least 1, at most MAX_LEASE): small enough that a
 * batch stranded in one worker costs little, large enough that a busy key asks rarely.
 */
export function leaseSize(rule: RateLimitRule, workers: number): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(bucketShape(rule).capacity / (8 * workers))));
}

export class LeasedRateLimiter implements RateLimiter {
  readonly #ask: LeaseAsk;
  readonly #table: KeyTable<Lease>;
  readonly #anonymous = newLease();
  readonly #refusal: Rejection;
  readonly #unavailable: Rejection;
  readonly #now: () => number;
  readonly #id: string;
  readonly #ratePerMs: number;
  readonly #capacity: number;
  readonly #lease: number;

  constructor(
    readonly rule: RateLimitRule,
    opts: { ask: LeaseAsk; workers: number; maxKeys: number; now?: () => number },
  ) {
    const shape = bucketShape(rule);
    this.#ask = opts.ask;
    this.#now = opts.now ?? (() => performance.now());
    this.#refusal = rateLimitRejection(rule);
    this.#unavailable = Object.freeze({ ...STORE_UNAVAILABLE, rule: rule.rule, reason: LimitReason.LIMIT_STORE_UNAVAILABLE });
    this.#id = `${rule.rule}|${rule.unit ?? 'requests'}|${rule.requests}|${rule.perMs}|${rule.burst ?? 0}|${formatLimitKey(rule.by)}`;
    this.#ratePerMs = shape.ratePerMs;
    this.#capacity = shape.capacity;
    this.#lease = leaseSize(rule, opts.workers);
    this.#table = new KeyTable<Lease>({
      max: opts.maxKeys,
      create: newLease,
      isIdle: (l, now) => l.pending === undefined && (l.tokens < 1 || now >= l.expiresAt) && now >= l.refusedUntil,
    });
  }

  take(key: string | undefined, weight = 1): TakeResult | Promise<TakeResult> {
    const lease = key === undefined ? this.#anonymous : this.#table.get(key, this.#now());
    return this.#take(lease, key, weight);
  }

  #take(lease: Lease, key: string | undefined, weight: number): TakeResult | Promise<TakeResult> {
    const now = this.#now();
    if (now >= lease.expiresAt) lease.tokens = 0;
    if (lease.tokens >= weight) {
      lease.tokens -= weight;
      // Low: ask for the next batch now, so busy keys never wait for the primary.
      if (this.#lease >= 4 && lease.tokens < this.#lease / 4 && lease.pending === undefined && now >= lease.refusedUntil) lease.pending = this.#refill(lease, key, 1);
      return undefined;
    }
    if (now < lease.refusedUntil && weight - lease.tokens >= lease.refusedWeight) return this.#refusal;
    // One question per key at a time; every waiter looks again once it is answered.
    lease.pending ??= this.#refill(lease, key, weight);
    return lease.pending.then((answered) => {
      if (!answered) return this.#unavailable;
      const t = this.#now();
      if (lease.tokens >= weight && t < lease.expiresAt) {
        lease.tokens -= weight;
        return undefined;
      }
      if (t < lease.refusedUntil && weight - lease.tokens >= lease.refusedWeight) return this.#refusal;
      return this.#take(lease, key, weight);
    });
  }

  #refill(lease: Lease, key: string | undefined, weight: number): Promise<boolean> {
    const need = Math.max(1, Math.ceil(weight - lease.tokens));
    const req: LeaseRequest = { limiter: this.#id, ratePerMs: this.#ratePerMs, capacity: this.#capacity, key: key ?? null, need, want: Math.max(need, this.#lease) };
    return this.#ask(req).then(
      (grant) => this.#granted(lease, need, grant),
      () => this.#granted(lease, need, undefined),
    );
  }

  #granted(lease: Lease, need: number, grant: LeaseGrant | undefined): boolean {
    lease.pending = undefined;
    // No answer (the primary stalled or is gone): the calls waiting now are refused, the next ones ask again.
    if (grant === undefined) return false;
    const now = this.#now();
    if (grant.granted < need) {
      // The primary has fewer than `need` tokens (the broker grants all of `need` or nothing).
      lease.refusedUntil = now + Math.min(MAX_REFUSAL_CACHE_MS, Math.max(1, grant.retryAfterMs));
      lease.refusedWeight = need;
      return true;
    }
    lease.tokens += grant.granted;
    lease.expiresAt = now + LEASE_TTL_MS;
    lease.refusedUntil = 0;
    return true;
  }

  sweep(now: number): void {
    this.#table.sweep(now);
  }

  close(): void {
    this.#table.clear();
  }
}
