// What the request path reads once per call (data path): the compiled policies, the limit
// tables built for them, and the GraphQL analyzer of the current schema — published together
// by the control path (app/snapshots.ts) whenever any changes. Filters and observers of one call all use the
// object the call started with, so a reload never mixes two versions within a call.

import type { GraphqlAnalyzer } from '../graphql/analysis/analyze.js';
import type { PolicySnapshot } from '../policy/model.js';
import type { LimitTables } from '../ratelimit/limit-tables.js';

export interface DataSnapshot {
  readonly policy: PolicySnapshot;
  /** The limiters and prepared refusals of the policy's rules (ratelimit/limiter-registry.ts). */
  readonly limits: LimitTables;
  /** The analyzer of the current GraphQL schema; undefined without `inbound.graphql`. */
  readonly graphql: GraphqlAnalyzer | undefined;
}
