// The outbound request path (data path): the local app's call, in plaintext on loopback,
// leaves over mTLS to the remote sidecar its `:authority` routes to.
//   grpc-request → route → forward (mTLS, the route's SPIFFE ID checked)

import { RejectCode } from '../core/codes.js';
import { reject, type Filter } from '../core/filter.js';
import type { CallObserver } from '../core/observer.js';
import { grpcRequestFilter } from '../grpc/grpc-request-filter.js';
import type { OutboundRoutes } from './outbound-routes.js';
import { createPipeline, type StreamHandler } from './pipeline.js';

export interface OutboundPipelineOptions {
  readonly maxTimeoutMs: number;
  readonly maxHeaderListBytes: number;
  readonly routes: OutboundRoutes;
  readonly observers: readonly CallObserver[];
}

const NO_ROUTE = reject(RejectCode.NO_ROUTE, 'no_route');

export function createOutboundPipeline(opts: OutboundPipelineOptions): StreamHandler {
  const { routes } = opts;
  const routeFilter: Filter = {
    name: 'route',
    apply: (ctx) => (routes.lookup(ctx.headers[':authority']) === undefined ? NO_ROUTE : undefined),
  };
  return createPipeline({
    filters: [grpcRequestFilter(opts), routeFilter],
    observers: opts.observers,
    maxTimeoutMs: opts.maxTimeoutMs,
    forward: (ctx) => routes.lookup(ctx.headers[':authority'])!.forwarder.forward(ctx),
  });
}
