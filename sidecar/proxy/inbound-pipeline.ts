// The inbound request path in one place (data path): the filter order, then the forward.
//   grpc-request → identity → jwt-authn → authz → forward
// Later filters (limits, GraphQL guard, telemetry) slot into `filters`.

import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { runChain } from '../core/chain.js';
import type { CallContext, Filter, Rejection } from '../core/filter.js';
import { replyGrpc } from '../core/reply.js';
import { grpcRequestFilter } from '../grpc/grpc-request-filter.js';
import { identityFilter } from '../identity/identity-filter.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import { authzFilter } from '../policy/authz-filter.js';
import type { PolicyStore } from '../policy/policy-store.js';
import { outcomeOf, type CallObserver } from '../core/observer.js';
import type { GrpcForwarder } from './grpc-forwarder.js';

export interface PipelineOptions {
  readonly maxTimeoutMs: number;
  readonly maxHeaderListBytes: number;
  readonly allowAnyAuthenticated: boolean;
  readonly authn: Filter;
  readonly policies: PolicyStore;
  /** Audit log, metrics, spans...: called when a call starts, is decided, and ends. */
  readonly observers: readonly CallObserver[];
  readonly forwarder: GrpcForwarder;
}

export function createInboundPipeline(opts: PipelineOptions) {
  const filters: readonly Filter[] = [
    grpcRequestFilter(opts),
    identityFilter(),
    opts.authn,
    authzFilter(opts.policies, opts.allowAnyAuthenticated),
  ];
  const { forwarder } = opts;
  const started = opts.observers.filter((o) => o.started !== undefined);
  const decided = opts.observers.filter((o) => o.decided !== undefined);
  const ended = opts.observers.filter((o) => o.ended !== undefined);
  const onClose = (ctx: CallContext): void => {
    const outcome = outcomeOf(ctx);
    for (const o of ended) o.ended!(ctx, outcome);
  };

  // The forward waits one turn of the event loop: a HEADERS frame and the RST_STREAM
  // that cancels it arrive in the same read, so a reset stream never reaches the app.
  const forwardIfOpen = (ctx: CallContext): void => {
    if (!ctx.stream.closed && !ctx.stream.destroyed) forwarder.forward(ctx);
  };
  const settle = (ctx: CallContext, rejection: Rejection | undefined): void => {
    for (const o of decided) o.decided!(ctx, rejection);
    if (rejection !== undefined) replyGrpc(ctx.stream, rejection);
    else setImmediate(forwardIfOpen, ctx);
  };

  return function onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[], peer: PeerIdentity): void {
    const ctx: CallContext = {
      stream,
      headers,
      rawHeaders,
      peer,
      startedAt: performance.now(),
      path: headers[':path'] ?? '',
      method: undefined,
      timeoutMs: opts.maxTimeoutMs,
      jwt: undefined,
      decision: undefined,
      policyVersion: undefined,
    };
    for (const o of started) o.started!(ctx);
    if (ended.length > 0) stream.once('close', () => onClose(ctx));
    const result = runChain(filters, ctx);
    if (result instanceof Promise) result.then((r) => settle(ctx, r));
    else settle(ctx, result);
  };
}
