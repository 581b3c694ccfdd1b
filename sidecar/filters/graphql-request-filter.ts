// The GraphQL request (data path, body phase): GET parameters or a POST JSON body of at most
// the endpoint's `bodyBytes` (413 beyond, never buffered), one request or a batch within
// `batch`; what is not a GraphQL request is 400 / 405 / 415 (graphql/graphql-request.ts).

import type { FilterResult } from '../core/filter.js';
import { checkLimit, limitRejection } from '../graphql/graphql-checks.js';
import { methodNotAllowed, parseGetRequest, parsePostRequest } from '../graphql/graphql-request.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';
import { endpointRule } from './graphql-operation.js';

export function graphqlRequestFilter(): CallFilter {
  return {
    name: 'graphql-request',
    phase: 'body',
    /** Only a POST has a body to read; its bound is the endpoint's rule's. */
    bodyLimit: (call: Call) => (call.httpMethod === 'POST' ? call.graphqlRule?.limits.bodyBytes.value : undefined),
    apply(call: Call): FilterResult {
      const rule = endpointRule(call);
      const bodyBytes = rule.limits.bodyBytes;
      if (call.body === 'too_large') return limitRejection('bodyBytes', bodyBytes, bodyBytes.value + 1);
      const parsed =
        call.httpMethod === 'GET'
          ? parseGetRequest(call.target)
          : call.httpMethod !== 'POST' || call.body === undefined
            ? methodNotAllowed()
            : parsePostRequest(call.headers.get('content-type'), call.body);
      if (!parsed.ok) return parsed.rejection;
      call.operations = parsed.operations;
      return checkLimit(call, rule, 'batch', parsed.operations.length);
    },
  };
}
