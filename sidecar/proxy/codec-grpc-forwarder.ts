// Forwards gRPC calls to one upstream on meshward's own HTTP/2 codec (data path): the request
// headers rebuilt for the app (identity, trace context, the remaining deadline), then the
// frame relay (sidecar/h2/stream-relay.ts) — DATA passed on with its header rewritten, flow
// control end to end, trailers and trailers-only answers, resets both ways — with the call's
// body hooks honoured, the deadline enforced, and meshward's own answer when the app is
// unreachable or a hook ends the call. One `CodecForwardedCall` per call holds its state.

import { RejectCode, wireReplies } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import { log } from '../core/log.js';
import { encodeGrpcMessage } from '../core/reply.js';
import { formatGrpcTimeout } from '../grpc/timeout.js';
import { StreamRelay, type RelayHooks } from '../h2/stream-relay.js';
import type { H2UpstreamPool } from '../h2/upstream-pool.js';
import type { Call } from '../pipeline/call.js';
import { AssertedHeaders, isAssertedHeader, replacedByTrace } from './asserted-headers.js';
import type { CodecExchange } from './codec-exchange.js';

const UNAVAILABLE: Rejection = Object.freeze({ code: RejectCode.UPSTREAM_UNAVAILABLE, reason: 'app_unavailable' });
const DEADLINE: Rejection = Object.freeze({ code: RejectCode.DEADLINE_EXCEEDED, reason: 'deadline_exceeded' });
const GUARD_FAILED: Rejection = Object.freeze({ code: RejectCode.INTERNAL, reason: 'message_guard_error' });

export class CodecGrpcForwarder {
  readonly #asserted: AssertedHeaders;

  /** `localId` is this workload's SPIFFE ID, the `By=` of x-forwarded-client-cert. */
  constructor(
    private readonly pool: H2UpstreamPool,
    localId: string,
    /** "https" when the upstream is a remote sidecar over mTLS (outbound routes). */
    private readonly scheme: 'http' | 'https' = 'http',
  ) {
    this.#asserted = new AssertedHeaders(localId);
  }

  forward(call: Call, exchange: CodecExchange): void {
    if (exchange.closed) return;
    new CodecForwardedCall(call, exchange).start(this.pool, this.requestFields(call, exchange));
  }

  /** The caller's fields minus pseudo-headers, asserted ones and grpc-timeout; then meshward's. */
  requestFields(call: Call, exchange: CodecExchange): string[] {
    const trace = call.trace;
    const out = [':method', 'POST', ':scheme', this.scheme, ':path', call.path, ':authority', exchange.head.authority || 'localhost'];
    const pairs = exchange.headers.pairs;
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i]!;
      if (name.charCodeAt(0) === 0x3a /* : */ || isAssertedHeader(name) || name === 'grpc-timeout' || replacedByTrace(name, trace)) continue;
      out.push(name, pairs[i + 1]!);
    }
    out.push('grpc-timeout', formatGrpcTimeout(call.timeoutMs - (performance.now() - call.startedAt)));
    this.#asserted.applyPairs(out, call.peer, trace);
    return out;
  }
}

/** One call in flight between the caller's stream and the app's. */
export class CodecForwardedCall {
  readonly relay: StreamRelay<Rejection>;
  #timer: NodeJS.Timeout | undefined;
  /** meshward decided the call's outcome (deadline, a refusal): nothing else answers it. */
  #settled = false;

  constructor(
    readonly call: Call,
    readonly exchange: CodecExchange,
  ) {
    this.relay = new StreamRelay<Rejection>(exchange.stream, { upstreamFailed: this.onUpstreamFailed, finished: this.onFinished }, this.#hooks(), false);
  }

  start(pool: H2UpstreamPool, fields: string[]): void {
    const { call, exchange } = this;
    // A request that ended with its HEADERS has no DATA to carry END_STREAM.
    if (!this.relay.start(pool, fields, exchange.requestEnded && !exchange.hasPendingData)) return;
    // A guard that holds the first message may have decided already (a request without a body).
    if (this.#settled) return;
    this.#timer = setTimeout(this.onDeadline, Math.max(0, call.timeoutMs - (performance.now() - call.startedAt)));
    exchange.attach(this.relay);
  }

  /** The deadline passed: the app's side is cancelled; the caller gets DEADLINE_EXCEEDED. */
  readonly onDeadline = (): void => {
    this.#timer = undefined;
    this.#end(DEADLINE);
  };

  /**
   * A body hook ended the call after the forward began (a request message over
   * maxMessageBytes, a message guard's verdict): the relay has cancelled the app's stream
   * before the refused bytes reached it; the caller gets the refusal, the audit log sees it.
   */
  readonly onRefused = (rejection: Rejection): void => {
    this.call.lateRejection = this.call.rejection = rejection;
    this.#end(rejection);
  };

  /** No answer from the app (unreachable, refused stream, connection lost): UNAVAILABLE. */
  readonly onUpstreamFailed = (_relay: StreamRelay<Rejection>, code: number): void => {
    log.debug('upstream stream failed before a response', { path: this.call.path, code });
    this.#end(UNAVAILABLE);
  };

  readonly onFinished = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  };

  #end(rejection: Rejection): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.relay.abort(grpcReplyFields(rejection));
    this.exchange.discardRequestBody();
  }

  #hooks(): RelayHooks<Rejection> | undefined {
    const { requestGuard, messageGuard, requestPacers, responsePacers } = this.call;
    if (requestGuard === undefined && messageGuard === undefined && requestPacers === undefined && responsePacers === undefined) return undefined;
    return {
      // The message guard bounds each message by maxMessageBytes itself (it replaces the chunk guard).
      requestGuard: messageGuard === undefined ? requestGuard : undefined,
      // Message validation: only checked messages reach the app; unless the call is a bidi
      // stream, the app's stream opens once the first one passed (a refused call never reaches it).
      messageGuard: messageGuard === undefined ? undefined : { guard: messageGuard, failed: GUARD_FAILED, holdFirst: messageGuard.holdFirst },
      requestPacers,
      responsePacers,
      refused: this.onRefused,
    };
  }
}

/** meshward's gRPC answer as field lists: trailers-only when no response began, else trailers. */
export function grpcReplyFields(rejection: Rejection): { headersOnly: string[]; trailers: string[] } {
  const wire = wireReplies[rejection.code];
  const status = String(wire.grpcStatus ?? 13);
  const message = encodeGrpcMessage(wire.message);
  const extra: string[] = [];
  const r = rejection.replyHeaders;
  if (r !== undefined) for (const name in r) extra.push(name, r[name]!);
  return {
    headersOnly: [':status', '200', ...extra, 'content-type', 'application/grpc', 'grpc-status', status, 'grpc-message', message],
    trailers: [...extra, 'grpc-status', status, 'grpc-message', message],
  };
}
