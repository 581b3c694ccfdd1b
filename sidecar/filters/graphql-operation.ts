// The operations of a GraphQL request, each through the same operation filters in turn
// (data path, body phase): for a batch, the first operation any filter refuses refuses the
// whole request, in operation order — limits of operation 1, its fields, then operation 2…
// The summed cost goes on the call for the cost budget.

import { runChain } from '../core/chain.js';
import type { Filter, FilterResult } from '../core/filter.js';
import type { OperationAnalysis } from '../graphql/analysis/analyze.js';
import type { OperationRequest } from '../graphql/graphql-request.js';
import type { CompiledGraphqlRule } from '../policy/model.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

/** One operation of a request, as the operation filters see it. */
export interface OperationCall {
  readonly call: Call;
  readonly request: OperationRequest;
  /** Set by the analysis filter. */
  op: OperationAnalysis | undefined;
  /** Its cost with this request's variables, set by the analysis filter. */
  cost: number;
}

export type OperationFilter = Filter<OperationCall>;

/** Runs `filters` over every operation of the call, in order. */
export function eachOperation(filters: readonly OperationFilter[]): CallFilter {
  const over = (call: Call, from: number, total: number): FilterResult | Promise<FilterResult> => {
    const operations = call.operations ?? [];
    for (let i = from; i < operations.length; i++) {
      const o: OperationCall = { call, request: operations[i]!, op: undefined, cost: 0 };
      const r = runChain(filters, o);
      if (r instanceof Promise) return r.then((stop) => stop ?? over(call, i + 1, total + o.cost));
      if (r !== undefined) return r;
      total += o.cost;
    }
    call.graphql = { ...call.graphql!, cost: total };
    return undefined;
  };
  return {
    name: `each-operation(${filters.map((f) => f.name).join(', ')})`,
    phase: 'body',
    apply: (call: Call) => over(call, 0, 0),
  };
}

/** The endpoint's rule: authz refused every call without one, so none here is a bug (fail closed). */
export function endpointRule(call: Call): CompiledGraphqlRule {
  const rule = call.graphqlRule;
  if (rule === undefined) throw new Error('GraphQL body filter without an endpoint rule');
  return rule;
}
