// What every listener's request path shares (data path): build the call context, tell the
// observers, run the listener's filters, then either write the refusal or forward. The
// forward waits one turn of the event loop: a HEADERS frame and the RST_STREAM that
// cancels it arrive in the same read, so a reset stream never reaches the upstream.

import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { runChain } from '../core/chain.js';
import type { CallContext, Filter, Rejection } from '../core/filter.js';
import { outcomeOf, type CallObserver } from '../core/observer.js';
import { replyGrpc } from '../core/reply.js';
import type { PeerIdentity } from '../identity/peer-identity.js';

export type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[], peer: PeerIdentity) => void;

export interface PipelineSpec {
  readonly filters: readonly Filter[];
  readonly observers: readonly CallObserver[];
  /** The default deadline before the gRPC request filter reads grpc-timeout. */
  readonly maxTimeoutMs: number;
  /** Sends an accepted call on; runs only if the caller's stream is still open. */
  readonly forward: (ctx: CallContext) => void;
}

export function createPipeline(spec: PipelineSpec): StreamHandler {
  const { filters, forward, maxTimeoutMs } = spec;
  const started = spec.observers.filter((o) => o.started !== undefined);
  const decided = spec.observers.filter((o) => o.decided !== undefined);
  const ended = spec.observers.filter((o) => o.ended !== undefined);

  const onClose = (ctx: CallContext): void => {
    const outcome = outcomeOf(ctx);
    for (const o of ended) o.ended!(ctx, outcome);
  };
  const forwardIfOpen = (ctx: CallContext): void => {
    if (!ctx.stream.closed && !ctx.stream.destroyed) forward(ctx);
  };
  const settle = (ctx: CallContext, rejection: Rejection | undefined): void => {
    ctx.rejection = rejection;
    for (const o of decided) o.decided!(ctx, rejection);
    if (rejection !== undefined) replyGrpc(ctx.stream, rejection);
    else setImmediate(forwardIfOpen, ctx);
  };

  return function onStream(stream, headers, rawHeaders, peer): void {
    const ctx: CallContext = {
      protocol: 'grpc',
      stream,
      headers,
      rawHeaders,
      peer,
      startedAt: performance.now(),
      path: headers[':path'] ?? '',
      method: undefined,
      timeoutMs: maxTimeoutMs,
      jwt: undefined,
      decision: undefined,
      policyVersion: undefined,
      trace: undefined,
      rejection: undefined,
      requestGuard: undefined,
      messageGuard: undefined,
      requestTransforms: undefined,
      responseTransforms: undefined,
      auditedLimit: undefined,
      lateRejection: undefined,
      auditedMessage: undefined,
    };
    for (const o of started) o.started!(ctx);
    if (ended.length > 0) stream.once('close', () => onClose(ctx));
    const result = runChain(filters, ctx);
    if (result instanceof Promise) result.then((r) => settle(ctx, r));
    else settle(ctx, result);
  };
}
