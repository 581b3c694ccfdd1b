// The filter order of every listener, in one place (built once at startup; the chains are
// the data path). Each filter returns continue or a Rejection; observers see every call.
// A new concern is a new filter in filters/ and one entry here (docs/architecture.md).

import { authzFilter } from '../filters/authz-filter.js';
import { bandwidthFilter } from '../filters/bandwidth-filter.js';
import { concurrencyFilter } from '../filters/concurrency-filter.js';
import { costBudgetFilter } from '../filters/cost-budget-filter.js';
import { graphqlAnalysisFilter } from '../filters/graphql-analysis-filter.js';
import { graphqlEndpointFilter } from '../filters/graphql-endpoint-filter.js';
import { graphqlFieldFilter } from '../filters/graphql-field-filter.js';
import { eachOperation } from '../filters/graphql-operation.js';
import { graphqlRequestFilter } from '../filters/graphql-request-filter.js';
import { grpcRequestFilter } from '../filters/grpc-request-filter.js';
import { headerSizeFilter } from '../filters/header-size-filter.js';
import { identityFilter } from '../filters/identity-filter.js';
import type { RejectionCounter } from '../filters/limit-take.js';
import { messageSizeFilter } from '../filters/message-size-filter.js';
import { rateLimitFilter } from '../filters/rate-limit-filter.js';
import { routeFilter } from '../filters/route-filter.js';
import type { CallFilter } from '../pipeline/pipeline.js';

export interface InboundChainParts {
  readonly maxTimeoutMs: number;
  readonly maxHeaderListBytes: number;
  /** `inbound.allowAnyAuthenticated` (gRPC only): a relaxed default, logged at startup. */
  readonly allowAnyAuthenticated: boolean;
  /** JWT authn, or without providers the duplicate-`authorization` check (filters/jwt-authn-filter.ts). */
  readonly authn: CallFilter;
  /** meshward_ratelimit_rejections_total. */
  readonly countRejection: RejectionCounter;
  /** `inbound.graphql.path`, when GraphQL is served. */
  readonly graphqlPath: string | undefined;
  /** Undeclared gRPC methods (filters/undeclared-filter.ts), when catalog.protos is set and `undeclared` is not allow. */
  readonly undeclared?: CallFilter | undefined;
  /** Message validation (filters/validation-filter.ts), when catalog.protos is set. */
  readonly validation?: CallFilter | undefined;
}

/** The inbound listener's two chains. Both orders, side by side: */
export function inboundChains(p: InboundChainParts): { readonly grpc: readonly CallFilter[]; readonly graphql: readonly CallFilter[] } {
  const identity = identityFilter();
  const rateLimit = rateLimitFilter(p.countRejection);
  return {
    // gRPC: the request head only; the body is streamed to the app, checked by the body hooks
    // the last three set (core/body-hooks.ts).
    grpc: [
      grpcRequestFilter(p), // POST, canonical /pkg.Service/Method, application/grpc, header list size; the deadline
      identity, //             a verified certificate carries one SPIFFE ID of the trust domain
      p.authn, //              a valid bearer token (or none)
      ...(p.undeclared === undefined ? [] : [p.undeclared]), // a method catalog.protos declares (12 otherwise)
      authzFilter(p), //       the method's rule: deny entries, allow entries, default deny; the rule's timeout
      rateLimit, //            token buckets by principal / claim / global (memory, Redis, workers' leases)
      concurrencyFilter(p.countRejection), // a slot, or a place in a bounded queue
      bandwidthFilter(), //    pacers for both directions (flow control slows the sender)
      messageSizeFilter(), //  maxMessageBytes from each message's length prefix, as it is relayed
      ...(p.validation === undefined ? [] : [p.validation]), // each request message held until checked (validate)
    ],
    // GraphQL over HTTP: the same head, then the body phase (the body read whole, ≤ bodyBytes).
    graphql: [
      graphqlEndpointFilter(p.graphqlPath ?? '/graphql'), // the endpoint's path (404 otherwise) and its rule
      headerSizeFilter(p.maxHeaderListBytes), // a header list over the bound is 431
      identity,
      p.authn,
      authzFilter({ allowAnyAuthenticated: false }), // the endpoint's allow / deny
      rateLimit, //            the endpoint's rateLimit, before the body is read
      graphqlRequestFilter(), // body phase: GET parameters or POST JSON (400/405/413/415), batch limit
      eachOperation([
        graphqlAnalysisFilter(), // parse (token cap), validate, depth / cost / aliases / … limits
        graphqlFieldFilter(), //    introspection, then field rules
      ]),
      costBudgetFilter(p.countRejection), // the summed cost from the endpoint's costBudget
    ],
  };
}

export interface OutboundChainParts {
  readonly maxTimeoutMs: number;
  readonly maxHeaderListBytes: number;
  readonly routes: { has(authority: string | undefined): boolean };
}

/** The outbound listener: the local app's calls, out over mTLS to the route's remote sidecar. */
export function outboundChain(p: OutboundChainParts): readonly CallFilter[] {
  return [
    grpcRequestFilter(p), // as inbound
    routeFilter(p.routes), // an outbound route for the :authority (14 otherwise)
  ];
}
