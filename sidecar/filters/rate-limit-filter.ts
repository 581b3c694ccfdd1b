// Rate limits of the call's rule (data path, after authz): a token per call from each
// `rateLimit` — gRPC methods and GraphQL endpoints alike, since a GraphQL endpoint's
// decision carries its access rule. By principal, JWT claim or globally (ratelimit/limit-key.ts).

import type { FilterResult } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';
import { takeEach, type RejectionCounter } from './limit-take.js';

export function rateLimitFilter(count: RejectionCounter): CallFilter {
  return {
    name: 'rate-limit',
    apply(call: Call): FilterResult | Promise<FilterResult> {
      const rule = call.decision?.rules;
      if (rule === undefined || rule.rateLimits.length === 0) return undefined;
      return takeEach(call, call.snapshot.limits.forRule(rule).rate, 1, count);
    },
  };
}
