// The refusals the limits send (DESIGN §5), built once per limit rule (CONTROL path) so a
// refused call only returns a prepared object: RESOURCE_EXHAUSTED with RetryInfo and
// QuotaFailure in `grpc-status-details-bin`; the rule and the numbers go to the audit log.

import { GrpcStatus, RejectCode, wireReplies } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import type { CompiledMethodRule, ConcurrencyRule, RateLimitRule } from '../policy/model.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './frame-size-guard.js';
import { formatLimitKey } from './limit-key.js';
import { statusDetailsHeader } from './status-details.js';

/** Stable reasons (metrics and audit records use them). */
export const LimitReason = {
  RATE_LIMITED: 'rate_limited',
  COST_BUDGET_EXCEEDED: 'cost_budget_exceeded',
  CONCURRENCY_QUEUE_FULL: 'concurrency_queue_full',
  CONCURRENCY_QUEUE_TIMEOUT: 'concurrency_queue_timeout',
  MESSAGE_TOO_LARGE: 'message_too_large',
  LIMIT_STORE_UNAVAILABLE: 'limit_store_unavailable',
} as const;

/** "1s", "250ms", "1m30s" — how policies write durations. */
export function formatMs(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60 || s % 60 !== 0) return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
  const m = s / 60;
  return m < 60 || m % 60 !== 0 ? `${m}m` : `${m / 60}h`;
}

function exhausted(rule: string, reason: string, detail: string, retryDelayMs: number, subject: string, description: string): Rejection {
  const header = statusDetailsHeader({
    code: GrpcStatus.RESOURCE_EXHAUSTED,
    message: wireReplies.RATE_LIMITED.message,
    retryDelayMs,
    violations: [{ subject, description }],
  });
  return Object.freeze({
    code: RejectCode.RATE_LIMITED,
    reason,
    rule,
    detail,
    retryAfterMs: retryDelayMs,
    replyHeaders: Object.freeze({ 'grpc-status-details-bin': header }),
  });
}

/** The time one token takes to come back: when a refused caller may succeed again. */
export function tokenIntervalMs(rule: RateLimitRule): number {
  return rule.perMs / rule.requests;
}

export function rateLimitRejection(rule: RateLimitRule): Rejection {
  if (rule.unit === 'cost') {
    const budget = `${rule.requests} points per ${formatMs(rule.perMs)}`;
    const by = formatLimitKey(rule.by);
    return exhausted(rule.rule, LimitReason.COST_BUDGET_EXCEEDED, `cost budget ${budget} by ${by} exceeded`, tokenIntervalMs(rule), by, `cost budget: ${budget}`);
  }
  const burst = rule.burst === undefined || rule.burst === 0 ? '' : ` (burst ${rule.burst})`;
  const limit = `${rule.requests} requests per ${formatMs(rule.perMs)}${burst}`;
  const by = formatLimitKey(rule.by);
  return exhausted(rule.rule, LimitReason.RATE_LIMITED, `rate limit ${limit} by ${by} exceeded`, tokenIntervalMs(rule), by, `rate limit: ${limit}`);
}

/** A concurrency refusal; the caller is told to retry after about one queue timeout (or 1 s). */
export function concurrencyRejection(rule: ConcurrencyRule, why: 'queue_full' | 'queue_timeout', queueTimeoutMs: number | undefined, workers = 1): Rejection {
  // With workers, each process enforces its share (limiter-registry.ts): say what was enforced.
  const limit =
    workers > 1
      ? `${Math.ceil(rule.max / workers)} in flight, ${Math.ceil(rule.queue / workers)} queued in this worker (${rule.max} and ${rule.queue} split over ${workers} workers)`
      : `${rule.max} in flight, ${rule.queue} queued`;
  const timeout = queueTimeoutMs === undefined ? '' : `, queue timeout ${formatMs(queueTimeoutMs)}`;
  const detail = why === 'queue_full' ? `concurrency limit ${limit}${timeout}: queue full` : `concurrency limit ${limit}${timeout}: no slot within the queue timeout`;
  const reason = why === 'queue_full' ? LimitReason.CONCURRENCY_QUEUE_FULL : LimitReason.CONCURRENCY_QUEUE_TIMEOUT;
  return exhausted(rule.rule, reason, detail, Math.max(queueTimeoutMs ?? 1000, 1), 'global', `concurrency limit: ${limit}`);
}

/** A message over the limit: plain RESOURCE_EXHAUSTED (retrying the same message cannot help). */
export function messageTooLargeRejection(maxBytes: number, rule: string | undefined): Rejection {
  return Object.freeze({ code: RejectCode.MESSAGE_TOO_LARGE, reason: LimitReason.MESSAGE_TOO_LARGE, rule, detail: `a request message is larger than ${maxBytes} bytes` });
}

const DEFAULT_SIZE_LIMIT = Object.freeze({ max: DEFAULT_MAX_MESSAGE_BYTES, tooLarge: messageTooLargeRejection(DEFAULT_MAX_MESSAGE_BYTES, undefined) });
// Per compiled rule (per snapshot), built on first use.
const sizeLimits = new WeakMap<CompiledMethodRule, { readonly max: number; readonly tooLarge: Rejection }>();

/**
 * The largest request message of a call under `rules`, and its refusal: shared by the
 * message-size guard and message validation, which holds messages up to the same bound.
 */
export function messageSizeLimit(rules: CompiledMethodRule | undefined): { readonly max: number; readonly tooLarge: Rejection } {
  // A rule whose policies are all in audit mode does not enforce its own size; gRPC's default still holds.
  if (rules === undefined || rules.maxMessageBytes === undefined || rules.mode === 'audit') return DEFAULT_SIZE_LIMIT;
  let limit = sizeLimits.get(rules);
  if (limit === undefined) {
    limit = Object.freeze({ max: rules.maxMessageBytes, tooLarge: messageTooLargeRejection(rules.maxMessageBytes, rules.sources[0]?.id) });
    sizeLimits.set(rules, limit);
  }
  return limit;
}

export const STORE_UNAVAILABLE: Rejection = Object.freeze({
  code: RejectCode.LIMIT_STORE_UNAVAILABLE,
  reason: LimitReason.LIMIT_STORE_UNAVAILABLE,
  detail: 'the shared rate limit store (Redis) did not answer in time; failMode closed',
});
