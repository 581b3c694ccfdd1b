// GraphQL cost budgets (data path, body phase, last): each request takes its summed cost (at
// least 1) from the endpoint's `costBudget` token buckets — memory or the shared store;
// refused is 429 + Retry-After with reason `cost_budget_exceeded`.

import type { FilterResult } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';
import { takeEach, type RejectionCounter } from './limit-take.js';

export function costBudgetFilter(count: RejectionCounter): CallFilter {
  return {
    name: 'cost-budget',
    phase: 'body',
    apply(call: Call): FilterResult | Promise<FilterResult> {
      const rule = call.graphqlRule;
      if (rule === undefined || rule.costBudgets.length === 0) return undefined;
      return takeEach(call, call.snapshot.limits.costBudgets(rule), Math.max(1, call.graphql?.cost ?? 0), count);
    },
  };
}
