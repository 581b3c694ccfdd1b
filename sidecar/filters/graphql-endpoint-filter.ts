// First filter of the GraphQL chain (data path): the request is for the GraphQL endpoint
// (404 otherwise — HTTP/1.1 requests for any path come here), and the endpoint's combined
// policy rule is found in the call's snapshot for the filters after it.

import { RejectCode } from '../core/codes.js';
import type { FilterResult, Rejection } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

const NOT_FOUND: Rejection = Object.freeze({ code: RejectCode.NOT_FOUND, reason: 'not_graphql_path' });

/** `path`: inbound.graphql.path. */
export function graphqlEndpointFilter(path: string): CallFilter {
  return {
    name: 'graphql-endpoint',
    apply(call: Call): FilterResult {
      if (call.path !== path) return NOT_FOUND;
      call.graphqlRule = call.snapshot.policy.graphqlRule(path);
      return undefined;
    },
  };
}
