// The limits of every compiled rule of one policy snapshot, ready for the data path (built by
// limiter-registry.ts when the snapshot is published, CONTROL path): per rule, the limiter
// handles of each kind and the refusals they send, so a call only looks its rule up.

import type { Rejection } from '../core/filter.js';
import type { CompiledGraphqlRule, CompiledMethodRule, LimitMode } from '../policy/model.js';
import type { BandwidthLimiter } from './bandwidth-limiter.js';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';
import type { KeyReader } from './limit-key.js';
import type { RateLimiter } from './memory-rate-limiter.js';

/** A limiter as the registry keeps it: shared by every rule with the same id and numbers. */
export interface LimiterEntry<L> {
  readonly limiter: L;
  readonly read: KeyReader;
  /** Used since the last sweep (a store per call, no clock read). */
  used: boolean;
}

export interface RateHandle {
  readonly entry: LimiterEntry<RateLimiter>;
  /** `mode: audit`: counted and recorded, never enforced. */
  readonly mode: LimitMode;
}

export interface ConcurrencyHandle {
  readonly entry: LimiterEntry<ConcurrencyLimiter>;
  readonly mode: LimitMode;
  readonly queueTimeoutMs: number | undefined;
  /** The two refusals, built once. */
  readonly full: Rejection;
  readonly timeout: Rejection;
}

/** Enforced bandwidth limits only: audit-mode bandwidth is not applied at all. */
export interface BandwidthHandle {
  readonly entry: LimiterEntry<BandwidthLimiter>;
}

export interface RuleLimits {
  readonly rate: readonly RateHandle[];
  readonly concurrency: readonly ConcurrencyHandle[];
  readonly bandwidth: readonly BandwidthHandle[];
  /** The largest request message, and its refusal. */
  readonly maxMessageBytes: number;
  readonly tooLarge: Rejection;
}

export interface LimitTables {
  /** The limits of a call's matched rule; meshward's defaults (4 MiB messages, nothing else) without one. */
  forRule(rule: CompiledMethodRule | undefined): RuleLimits;
  /** A GraphQL endpoint's cost budgets (taken with each request's cost). */
  costBudgets(rule: CompiledGraphqlRule): readonly RateHandle[];
}
