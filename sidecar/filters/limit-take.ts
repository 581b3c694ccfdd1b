// Taking from rate limiters (data path), shared by the rate-limit and cost-budget filters:
// each limit in turn, synchronously unless the store is remote (Redis, a workers' lease).
// Audit-mode limits record what they would refuse; enforced ones refuse and are counted.

import type { FilterResult, Rejection } from '../core/filter.js';
import type { LimitMode } from '../policy/model.js';
import type { RateHandle } from '../ratelimit/limit-tables.js';
import { LimitReason } from '../ratelimit/limit-rejections.js';
import type { Call } from '../pipeline/call.js';

/** Counts a call refused by a limit of `rule` (meshward_ratelimit_rejections_total), passed in at assembly. */
export type RejectionCounter = (rule: string) => void;

/** A limit's answer under its mode: enforced refusals stop the call, audited ones are recorded. */
export function judge(call: Call, mode: LimitMode, refusal: Rejection | undefined, count: RejectionCounter): FilterResult {
  if (refusal === undefined) return undefined;
  if (mode === 'audit') {
    call.auditedLimit ??= refusal;
    return undefined;
  }
  if (refusal.rule !== undefined && refusal.reason !== LimitReason.LIMIT_STORE_UNAVAILABLE) count(refusal.rule);
  return refusal;
}

/** Takes `weight` tokens from each limit in turn, under the caller's key for that limit. */
export function takeEach(call: Call, handles: readonly RateHandle[], weight: number, count: RejectionCounter, from = 0): FilterResult | Promise<FilterResult> {
  const principal = call.peer.authenticated ? call.peer.spiffeId : undefined;
  const claims = call.jwt?.payload;
  for (let i = from; i < handles.length; i++) {
    const { entry, mode } = handles[i]!;
    entry.used = true;
    const result = entry.limiter.take(entry.read(principal, claims), weight);
    if (result instanceof Promise) return result.then((r) => judge(call, mode, r, count) ?? takeEach(call, handles, weight, count, i + 1));
    const stop = judge(call, mode, result, count);
    if (stop !== undefined) return stop;
  }
  return undefined;
}
