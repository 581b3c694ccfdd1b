// Concurrency limits of the call's rule (data path, after the rate limits): a slot per limit,
// taken at once when free, else after a wait in the limit's bounded FIFO queue (the only case
// that costs a promise). The call holds its slots until its exchange ends (pipeline/call.ts).

import type { FilterResult } from '../core/filter.js';
import type { ConcurrencyHandle } from '../ratelimit/limit-tables.js';
import { hold, releaseAll, type Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';
import { judge, type RejectionCounter } from './limit-take.js';

export function concurrencyFilter(count: RejectionCounter): CallFilter {
  return {
    name: 'concurrency',
    apply(call: Call): FilterResult | Promise<FilterResult> {
      const rule = call.decision?.rules;
      if (rule === undefined || rule.concurrency.length === 0) return undefined;
      return acquire(call, call.snapshot.limits.forRule(rule).concurrency, 0, count);
    },
  };
}

function acquire(call: Call, handles: readonly ConcurrencyHandle[], from: number, count: RejectionCounter): FilterResult | Promise<FilterResult> {
  for (let i = from; i < handles.length; i++) {
    // The caller already left (while a JWKS or Redis answer was awaited): take nothing.
    if (call.ended) return undefined;
    const h = handles[i]!;
    h.entry.used = true;
    const limiter = h.entry.limiter;
    if (h.mode === 'audit') {
      // Audited calls never wait, so the ones past max stand for the queue: past max + queue, refused.
      if (limiter.inFlight >= limiter.max + limiter.queue) call.auditedLimit ??= h.full;
      limiter.forceAcquire();
      hold(call, limiter);
      continue;
    }
    if (limiter.tryAcquire()) {
      hold(call, limiter);
      continue;
    }
    const left = call.timeoutMs - (performance.now() - call.startedAt);
    const waiter = limiter.enqueue(Math.min(h.queueTimeoutMs ?? left, left));
    if (waiter === 'queue_full') {
      releaseAll(call);
      return judge(call, 'enforce', h.full, count);
    }
    // Leaving while queued cancels the wait; after the grant, cancelling is a no-op.
    hold(call, { release: () => waiter.cancel() });
    return waiter.granted.then((got) => {
      if (got === 'cancelled') return undefined; // the caller left; nothing is forwarded
      if (got === 'queue_timeout') {
        releaseAll(call);
        return judge(call, 'enforce', h.timeout, count);
      }
      // Granted just as the caller left: hold() gives the slot straight back.
      hold(call, limiter);
      return acquire(call, handles, i + 1, count);
    });
  }
  return undefined;
}
