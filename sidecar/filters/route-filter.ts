// The outbound listener's route filter (data path): the local app's call must name, in its
// `:authority`, a remote service an outbound route leads to (14 `no outbound route` otherwise).

import { RejectCode } from '../core/codes.js';
import { reject, type FilterResult } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

const NO_ROUTE = reject(RejectCode.NO_ROUTE, 'no_route');

export function routeFilter(routes: { has(authority: string | undefined): boolean }): CallFilter {
  return {
    name: 'route',
    apply: (call: Call): FilterResult => (routes.has(call.headers.get(':authority')) ? undefined : NO_ROUTE),
  };
}
