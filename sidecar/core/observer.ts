// Call observers (data path): what wants to see every call without deciding anything — the
// audit log, metrics, spans. The pipeline calls them at three points through one fan-out
// (pipeline/observers.ts); each hook is optional and must not throw or block.

import type { Rejection } from './filter.js';

/** What the caller received, as the exchange recorded it (exchange.ts `outcome`). */
export interface CallOutcome {
  /** grpc-status the caller received (trailers, or a trailers-only answer); undefined if none was sent. */
  readonly grpcStatus: number | undefined;
  /** HTTP :status sent, if any. */
  readonly httpStatus: number | undefined;
  /** RST_STREAM code when the stream was reset (by either side) instead of finishing. */
  readonly rstCode: number | undefined;
  /** ms from the call's arrival to the end of its exchange. */
  readonly durationMs: number;
}

export interface CallObserver<C> {
  /** A call arrived; nothing is decided yet. */
  started?(call: C): void;
  /** The chain finished: `rejection` refused the call, or undefined = it goes to the app. */
  decided?(call: C, rejection: Rejection | undefined): void;
  /** The caller's exchange ended. Called once per started call. */
  ended?(call: C, outcome: CallOutcome): void;
}
