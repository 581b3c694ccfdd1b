// The inbound request path in one place (data path): the filter order, then the forward.
//   grpc-request → identity → jwt-authn → undeclared (catalog) → authz → limits → validation → forward
// Later filters (GraphQL guard) slot into `filters`; observers (audit, metrics, spans,
// the limits' slot release) see every call.

import type { Filter } from '../core/filter.js';
import type { CallObserver } from '../core/observer.js';
import { grpcRequestFilter } from '../grpc/grpc-request-filter.js';
import { identityFilter } from '../identity/identity-filter.js';
import { authzFilter } from '../policy/authz-filter.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { GrpcForwarder } from './grpc-forwarder.js';
import { createPipeline, type StreamHandler } from './pipeline.js';

export interface PipelineOptions {
  readonly maxTimeoutMs: number;
  readonly maxHeaderListBytes: number;
  readonly allowAnyAuthenticated: boolean;
  readonly authn: Filter;
  /** Refuses gRPC methods not declared in catalog.protos (catalog/undeclared-filter.ts); absent = none. */
  readonly undeclared?: Filter | undefined;
  readonly policies: PolicyStore;
  /** Rate, concurrency, bandwidth and message-size limits (ratelimit/limits.ts); its observer goes in `observers`. */
  readonly limits: Filter;
  /** Message validation (validation/, when catalog.protos is set): gives a call its request-message guard. */
  readonly validation?: Filter | undefined;
  /** Audit log, metrics, spans...: called when a call starts, is decided, and ends. */
  readonly observers: readonly CallObserver[];
  readonly forwarder: GrpcForwarder;
}

export function createInboundPipeline(opts: PipelineOptions): StreamHandler {
  const filters: readonly Filter[] = [
    grpcRequestFilter(opts),
    identityFilter(),
    opts.authn,
    ...(opts.undeclared === undefined ? [] : [opts.undeclared]),
    authzFilter(opts.policies, opts.allowAnyAuthenticated),
    opts.limits,
    ...(opts.validation === undefined ? [] : [opts.validation]),
  ];
  const { forwarder } = opts;
  return createPipeline({ filters, observers: opts.observers, maxTimeoutMs: opts.maxTimeoutMs, forward: (ctx) => forwarder.forward(ctx) });
}
