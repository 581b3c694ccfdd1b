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
import { authzFilter, callFacts } from '../policy/authz-filter.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { AuditSink } from '../telemetry/audit-log.js';
import { auditDenyRecord, refusalRecord } from '../telemetry/audit-record.js';
import type { GrpcForwarder } from './grpc-forwarder.js';

export interface PipelineOptions {
  readonly maxTimeoutMs: number;
  readonly maxHeaderListBytes: number;
  readonly allowAnyAuthenticated: boolean;
  readonly authn: Filter;
  readonly policies: PolicyStore;
  readonly audit: AuditSink;
  readonly forwarder: GrpcForwarder;
}

export function createInboundPipeline(opts: PipelineOptions) {
  const filters: readonly Filter[] = [
    grpcRequestFilter(opts),
    identityFilter(),
    opts.authn,
    authzFilter(opts.policies, opts.allowAnyAuthenticated),
  ];
  const { forwarder, audit } = opts;

  // The forward waits one turn of the event loop: a HEADERS frame and the RST_STREAM
  // that cancels it arrive in the same read, so a reset stream never reaches the app.
  const forwardIfOpen = (ctx: CallContext): void => {
    if (!ctx.stream.closed && !ctx.stream.destroyed) forwarder.forward(ctx);
  };
  const settle = (ctx: CallContext, rejection: Rejection | undefined): void => {
    if (rejection !== undefined) {
      audit.write(refusalRecord(ctx, rejection));
      replyGrpc(ctx.stream, rejection);
      return;
    }
    if (ctx.decision?.decision === 'audit_deny') {
      audit.write(auditDenyRecord(ctx, opts.policies.current.explain(callFacts(ctx)).summary));
    }
    setImmediate(forwardIfOpen, ctx);
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
    const result = runChain(filters, ctx);
    if (result instanceof Promise) result.then((r) => settle(ctx, r));
    else settle(ctx, result);
  };
}
