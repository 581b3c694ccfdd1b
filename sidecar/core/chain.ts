// Runs filters in order (data path). Synchronous filters cost no promise; the chain only
// becomes async from the first filter that really waits. A throw is a bug: the chain turns
// it into INTERNAL (fail closed).

import { RejectCode } from './codes.js';
import type { Filter, FilterResult, Rejection } from './filter.js';
import { log } from './log.js';

export type ChainResult = FilterResult | Promise<FilterResult>;

export function runChain<C>(filters: readonly Filter<C>[], call: C, from = 0): ChainResult {
  for (let i = from; i < filters.length; i++) {
    const filter = filters[i]!;
    let result: FilterResult | Promise<FilterResult>;
    try {
      result = filter.apply(call);
    } catch (err) {
      return failClosed(filter, err);
    }
    if (result === undefined) continue;
    if (result instanceof Promise) {
      return result.then(
        (r) => (r === undefined ? runChain(filters, call, i + 1) : r),
        (err: unknown) => failClosed(filter, err),
      );
    }
    return result;
  }
  return undefined;
}

function failClosed(filter: { readonly name: string }, err: unknown): Rejection {
  log.error('filter threw; failing closed', { filter: filter.name, error: String(err) });
  return { code: RejectCode.INTERNAL, reason: 'filter_error', detail: `${filter.name}: ${String(err)}` };
}
