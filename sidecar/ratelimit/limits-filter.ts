// The limits filter (data path, after authz): the matched rule's rate limits, then its
// concurrency limits, then its bandwidth shapers and the message-size guard for the forward.
// Synchronous unless a limit really waits (a queue slot, the Redis store). `mode: audit`
// limits are counted and recorded (ctx.auditedLimit), never enforced. The observer gives
// concurrency slots back when the caller's stream closes.

import type { Transform } from 'node:stream';
import type { CallContext, CallInfo, Filter, FilterResult, Rejection } from '../core/filter.js';
import type { CallObserver } from '../core/observer.js';
import type { CompiledMethodRule, ConcurrencyRule, LimitMode, RateLimitRule } from '../policy/model.js';
import { countRateLimitRejection } from '../telemetry/ratelimit-metrics.js';
import type { ConcurrencyLimiter, Waiter } from './concurrency-limiter.js';
import { FrameSizeGuard } from './frame-size-guard.js';
import { concurrencyRejection, LimitReason, messageSizeLimit } from './limit-rejections.js';
import type { LimiterRegistry } from './limiter-registry.js';
import type { TakeResult } from './memory-rate-limiter.js';

/** What a call holds until its stream closes. */
interface Hold {
  readonly slots: ConcurrencyLimiter[];
  waiter: Waiter | undefined;
}

export interface LimitsHooks {
  readonly filter: Filter;
  readonly observer: CallObserver;
  /**
   * Takes `weight` tokens from each rate rule in turn (GraphQL: 1 for the endpoint's rate
   * limits, the operation's cost for cost budgets); audited rules record, enforced ones refuse.
   */
  take(ctx: CallInfo, rules: readonly RateLimitRule[], weight: number): FilterResult | Promise<FilterResult>;
}

export function limitsFilter(registry: LimiterRegistry): LimitsHooks {
  const holds = new WeakMap<CallInfo, Hold>();
  // Per concurrency rule: its two refusals.
  const queueRefusals = new WeakMap<ConcurrencyRule, { full: Rejection; timeout: Rejection }>();

  function refusals(rule: ConcurrencyRule): { full: Rejection; timeout: Rejection } {
    let r = queueRefusals.get(rule);
    if (r === undefined) {
      r = {
        full: concurrencyRejection(rule, 'queue_full', rule.queueTimeoutMs, registry.workers),
        timeout: concurrencyRejection(rule, 'queue_timeout', rule.queueTimeoutMs, registry.workers),
      };
      queueRefusals.set(rule, r);
    }
    return r;
  }

  /** A limit's answer under its mode: enforced refusals stop the call, audited ones are recorded. */
  function judge(ctx: CallInfo, mode: LimitMode, refusal: TakeResult): FilterResult {
    if (refusal === undefined) return undefined;
    if (mode === 'audit') {
      ctx.auditedLimit ??= refusal;
      return undefined;
    }
    if (refusal.rule !== undefined && refusal.reason !== LimitReason.LIMIT_STORE_UNAVAILABLE) countRateLimitRejection(refusal.rule);
    return refusal;
  }

  function holdOf(ctx: CallInfo): Hold {
    let hold = holds.get(ctx);
    if (hold === undefined) {
      hold = { slots: [], waiter: undefined };
      holds.set(ctx, hold);
    }
    return hold;
  }

  function releaseAll(ctx: CallInfo): void {
    const hold = holds.get(ctx);
    if (hold === undefined) return;
    holds.delete(ctx);
    hold.waiter?.cancel();
    for (const slot of hold.slots) slot.release();
  }

  function take(ctx: CallInfo, list: readonly RateLimitRule[], weight: number, from: number): FilterResult | Promise<FilterResult> {
    for (let i = from; i < list.length; i++) {
      const rule = list[i]!;
      const entry = registry.rate(rule);
      const result = entry.limiter.take(entry.read(ctx), weight);
      if (result instanceof Promise) return result.then((r) => judge(ctx, rule.mode, r) ?? take(ctx, list, weight, i + 1));
      const stop = judge(ctx, rule.mode, result);
      if (stop !== undefined) return stop;
    }
    return undefined;
  }

  function rateLimits(ctx: CallContext, rules: CompiledMethodRule, from: number): FilterResult | Promise<FilterResult> {
    const list = rules.rateLimits;
    for (let i = from; i < list.length; i++) {
      const rule = list[i]!;
      const entry = registry.rate(rule);
      const result = entry.limiter.take(entry.read(ctx));
      if (result instanceof Promise) {
        return result.then((r) => judge(ctx, rule.mode, r) ?? rateLimits(ctx, rules, i + 1));
      }
      const stop = judge(ctx, rule.mode, result);
      if (stop !== undefined) return stop;
    }
    return concurrency(ctx, rules, 0);
  }

  function concurrency(ctx: CallContext, rules: CompiledMethodRule, from: number): FilterResult | Promise<FilterResult> {
    const list = rules.concurrency;
    for (let i = from; i < list.length; i++) {
      const rule = list[i]!;
      // The caller already left (while a JWKS or Redis answer was awaited): take nothing.
      if (ctx.stream.destroyed) return undefined;
      const limiter = registry.concurrency(rule).limiter;
      if (rule.mode === 'audit') {
        // Audited calls never wait, so the ones past max stand for the queue: past max + queue, refused.
        if (limiter.inFlight >= limiter.max + limiter.queue) ctx.auditedLimit ??= refusals(rule).full;
        limiter.forceAcquire();
        holdOf(ctx).slots.push(limiter);
        continue;
      }
      if (limiter.tryAcquire()) {
        holdOf(ctx).slots.push(limiter);
        continue;
      }
      const left = ctx.timeoutMs - (performance.now() - ctx.startedAt);
      const waiter = limiter.enqueue(Math.min(rule.queueTimeoutMs ?? left, left));
      if (waiter === 'queue_full') {
        releaseAll(ctx);
        return judge(ctx, 'enforce', refusals(rule).full);
      }
      const hold = holdOf(ctx);
      hold.waiter = waiter;
      return waiter.granted.then((got) => {
        hold.waiter = undefined;
        if (got === 'cancelled') return undefined; // the caller left; nothing is forwarded
        if (got === 'queue_timeout') {
          releaseAll(ctx);
          return judge(ctx, 'enforce', refusals(rule).timeout);
        }
        hold.slots.push(limiter);
        // Granted just as the caller left: its 'close' has been seen already, so give the slot back here.
        if (!holds.has(ctx)) limiter.release();
        return concurrency(ctx, rules, i + 1);
      });
    }
    bandwidth(ctx, rules);
    return undefined;
  }

  function bandwidth(ctx: CallContext, rules: CompiledMethodRule): void {
    const list = rules.bandwidth;
    if (list.length === 0) return;
    let request: Transform[] | undefined;
    let response: Transform[] | undefined;
    for (const rule of list) {
      // Bandwidth never refuses; in audit mode it is not applied at all.
      if (rule.mode === 'audit') continue;
      const entry = registry.bandwidth(rule);
      const shapers = entry.limiter.shapers(entry.read(ctx));
      (request ??= []).push(shapers.request);
      (response ??= []).push(shapers.response);
    }
    ctx.requestTransforms = request;
    ctx.responseTransforms = response;
  }

  return {
    filter: {
      name: 'limits',
      apply(ctx: CallContext): FilterResult | Promise<FilterResult> {
        const rules = ctx.decision?.rules;
        const size = messageSizeLimit(rules);
        ctx.requestGuard = new FrameSizeGuard(size.max, size.tooLarge);
        if (rules === undefined || (rules.rateLimits.length === 0 && rules.concurrency.length === 0 && rules.bandwidth.length === 0)) return undefined;
        return rateLimits(ctx, rules, 0);
      },
    },
    observer: {
      ended(ctx) {
        releaseAll(ctx);
      },
    },
    take: (ctx, rules, weight) => take(ctx, rules, weight, 0),
  };
}
