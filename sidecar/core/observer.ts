// Call observers (data path): what wants to see every call without deciding anything —
// the audit log, metrics, spans, limiters that release on completion. The pipeline calls
// them at three points; each hook is optional and must not throw or block.

import type { CallContext, CallInfo, Rejection } from './filter.js';

export interface CallOutcome {
  /** grpc-status the caller received (trailers, or a trailers-only answer); undefined if none was sent. */
  readonly grpcStatus: number | undefined;
  /** HTTP :status sent, if any. */
  readonly httpStatus: number | undefined;
  /** RST_STREAM code when the stream was reset (by either side) instead of finishing. */
  readonly rstCode: number | undefined;
  /** ms from the stream's arrival to its close. */
  readonly durationMs: number;
}

export interface CallObserver {
  /** A stream arrived; the context is fresh (nothing decided yet). */
  started?(ctx: CallInfo): void;
  /** The chain finished: `rejection` refused the call, or undefined = it goes to the app. */
  decided?(ctx: CallInfo, rejection: Rejection | undefined): void;
  /** The caller's stream closed. Called once per started call. */
  ended?(ctx: CallInfo, outcome: CallOutcome): void;
}

/** What a closed server stream sent, read from Node's record of it. */
export function outcomeOf(ctx: CallContext): CallOutcome {
  const s = ctx.stream;
  const trailers = s.sentTrailers;
  const headers = s.sentHeaders;
  const raw = trailers?.['grpc-status'] ?? headers?.['grpc-status'];
  const status = headers?.[':status'];
  const rst = s.rstCode;
  return {
    grpcStatus: raw === undefined ? undefined : Number(raw),
    httpStatus: status === undefined ? undefined : Number(status),
    rstCode: rst === undefined || rst === 0 ? undefined : rst,
    durationMs: performance.now() - ctx.startedAt,
  };
}
