// Forwards gRPC calls to one upstream (data path), byte for byte: request and response
// messages are relayed with flow control end to end, metadata and trailers copied, the
// deadline enforced, cancellation and resets passed on in both directions, and the call's
// body hooks honoured. A call with a message guard (message validation) relays only checked
// request messages and, unless it is a bidi stream, the app's stream opens once the first one
// passed (guarded-request.ts). One `ForwardedCall` per call holds its state (grpc-js's call
// objects are the model): each event of either stream has its own named handler.

import http2, { type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Transform } from 'node:stream';
import { RejectCode } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import { log } from '../core/log.js';
import { grpcStatusTrailers, replyGrpc } from '../core/reply.js';
import { formatGrpcTimeout } from '../grpc/timeout.js';
import type { Call } from '../pipeline/call.js';
import { AssertedHeaders, isAssertedHeader } from './asserted-headers.js';
import { discardRequestBody, type H2Exchange } from './h2-exchange.js';
import { GuardedRequest } from './guarded-request.js';
import { PacingTransform } from './pacing-transform.js';
import { relayThrough, sinkThrough } from './relay.js';
import type { UpstreamPool } from './upstream-pool.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

const UNAVAILABLE: Rejection = Object.freeze({ code: RejectCode.UPSTREAM_UNAVAILABLE, reason: 'app_unavailable' });
const DEADLINE: Rejection = Object.freeze({ code: RejectCode.DEADLINE_EXCEEDED, reason: 'deadline_exceeded' });
const STAGE_FAILED: Rejection = Object.freeze({ code: RejectCode.INTERNAL, reason: 'transform_error' });

export class GrpcForwarder {
  readonly #asserted: AssertedHeaders;

  /** `localId` is this workload's SPIFFE ID, the `By=` of x-forwarded-client-cert. */
  constructor(
    private readonly pool: UpstreamPool,
    localId: string,
    /** "https" when the upstream is a remote sidecar over mTLS (outbound routes). */
    private readonly scheme: 'http' | 'https' = 'http',
  ) {
    this.#asserted = new AssertedHeaders(localId);
  }

  forward(call: Call, exchange: H2Exchange): void {
    if (exchange.closed) return;
    const guard = call.messageGuard;
    if (guard === undefined) return this.#open(call, exchange, undefined);
    const request = new GuardedRequest(exchange.stream, guard);
    if (!guard.holdFirst) return this.#open(call, exchange, request);
    // Nothing reaches the app until the first request message passed: a refused one means the
    // app never sees the call. The deadline runs meanwhile.
    new FirstMessageWait(this, call, exchange, request).start();
  }

  /** Opens the app's stream and relays the call through it. */
  #open(call: Call, exchange: H2Exchange, request: GuardedRequest | undefined): void {
    let up: ClientHttp2Stream;
    try {
      up = this.pool.request(this.requestHeaders(call, exchange.nodeHeaders));
    } catch {
      request?.stop();
      replyGrpc(exchange, UNAVAILABLE);
      return;
    }
    new ForwardedCall(call, exchange, up, request).start();
  }

  /** FirstMessageWait: the first message passed (or the caller sent none). */
  openAfterFirst(call: Call, exchange: H2Exchange, request: GuardedRequest): void {
    if (!exchange.closed) this.#open(call, exchange, request);
  }

  /** The caller's headers minus pseudo-headers, asserted ones and grpc-timeout; then meshward's. */
  requestHeaders(call: Call, h: IncomingHttpHeaders): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':scheme': this.scheme,
      ':path': call.path,
      ':authority': h[':authority'] ?? 'localhost',
    };
    for (const name in h) {
      if (name.charCodeAt(0) === 0x3a /* : */ || isAssertedHeader(name) || name === 'grpc-timeout') continue;
      out[name] = h[name];
    }
    out['grpc-timeout'] = formatGrpcTimeout(call.timeoutMs - (performance.now() - call.startedAt));
    this.#asserted.apply(out, call.peer, call.trace);
    return out;
  }
}

/** A call whose app stream waits for its first request message to pass the message guard. */
class FirstMessageWait {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly forwarder: GrpcForwarder,
    private readonly call: Call,
    private readonly exchange: H2Exchange,
    private readonly request: GuardedRequest,
  ) {}

  start(): void {
    const { call, request } = this;
    this.#timer = setTimeout(this.onDeadline, Math.max(0, call.timeoutMs - (performance.now() - call.startedAt)));
    this.exchange.stream.once('close', this.onCallerClose);
    request.onRefuse = this.onRefused;
    request.onFirst = this.onFirst;
  }

  readonly onDeadline = (): void => {
    this.request.stop();
    replyGrpc(this.exchange, DEADLINE);
  };

  readonly onCallerClose = (): void => {
    clearTimeout(this.#timer);
    this.request.stop();
  };

  readonly onRefused = (refusal: Rejection): void => {
    clearTimeout(this.#timer);
    this.call.lateRejection = this.call.rejection = refusal;
    replyGrpc(this.exchange, refusal);
  };

  readonly onFirst = (): void => {
    clearTimeout(this.#timer);
    this.exchange.stream.removeListener('close', this.onCallerClose);
    this.forwarder.openAfterFirst(this.call, this.exchange, this.request);
  };
}

/** One call in flight between the caller's stream (`down`) and the app's (`up`). */
export class ForwardedCall {
  readonly down: ServerHttp2Stream;
  /** Trailers for `down`: the app's, or meshward's when meshward ends the call. */
  #trailers: OutgoingHttpHeaders | undefined;
  /** `down`'s outcome is decided (deadline, a refusal): later upstream events are ignored. */
  #settled = false;
  #timer: NodeJS.Timeout | undefined;
  /** Transforms between the two streams (message gate, pacing), destroyed when the call ends. */
  #stages: Transform[] | undefined;
  #upError: NodeJS.ErrnoException | undefined;

  constructor(
    readonly call: Call,
    readonly exchange: H2Exchange,
    readonly up: ClientHttp2Stream,
    /** The caller's request bytes through the message guard, when the call has one. */
    readonly request: GuardedRequest | undefined,
  ) {
    this.down = exchange.stream;
  }

  start(): void {
    const { call, up, down } = this;
    this.#timer = setTimeout(this.onDeadline, Math.max(0, call.timeoutMs - (performance.now() - call.startedAt)));
    up.on('response', this.onResponse);
    up.on('trailers', this.onTrailers);
    down.on('wantTrailers', this.onWantTrailers);
    up.on('error', this.onUpstreamError);
    up.on('close', this.onUpstreamClose);
    down.on('close', this.onCallerClose);
    const request = this.request;
    if (request === undefined) {
      relayThrough(down, this.#requestStages(), up, call.requestGuard, this.onRefused, STAGE_FAILED);
      return;
    }
    // The message guard holds messages up to the same maxMessageBytes the size guard checks.
    request.onRefuse = this.onRefused;
    request.attach(sinkThrough(this.#requestStages(), up, this.onRefused));
  }

  /** The deadline passed: cancel the app's side; the caller gets DEADLINE_EXCEEDED. */
  readonly onDeadline = (): void => {
    this.#settled = true;
    this.request?.stop();
    this.up.close(NGHTTP2_CANCEL);
    if (!this.down.headersSent) return replyGrpc(this.exchange, DEADLINE);
    this.#trailers = grpcStatusTrailers(RejectCode.DEADLINE_EXCEEDED);
    this.down.end();
  };

  /**
   * A body hook ended the call after the forward began (a request message over
   * maxMessageBytes, a message guard's verdict). The app's side is reset before the refused
   * bytes are written to it; the caller gets the refusal, the audit log sees it at the end.
   */
  readonly onRefused = (rejection: Rejection): void => {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.request?.stop();
    const { down, up, call } = this;
    // Detach `down` from its request stages first: destroying one it is piped into would
    // unpipe — and pause — `down` after the reply's discard resumed it, and a paused stream
    // never closes. Ending `up` makes the relay drop the chunk that broke the limit.
    down.unpipe();
    up.close(NGHTTP2_CANCEL);
    this.#destroyStages();
    call.lateRejection = call.rejection = rejection;
    if (!down.headersSent) return replyGrpc(this.exchange, rejection);
    this.#trailers = grpcStatusTrailers(rejection.code, rejection.replyHeaders);
    down.end();
    discardRequestBody(down);
  };

  readonly onResponse = (headers: IncomingHttpHeaders, flags: number): void => {
    const { down, up } = this;
    if (this.#settled || down.closed) return;
    const out = copyHeaders(headers, { ':status': headers[':status'] ?? 200 });
    if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
      down.respond(out, { endStream: true }); // trailers-only answer from the app
      return;
    }
    down.respond(out, { waitForTrailers: true });
    relayThrough(up, this.#responseStages(), down, undefined, this.onRefused, STAGE_FAILED);
  };

  readonly onTrailers = (headers: IncomingHttpHeaders): void => {
    this.#trailers = copyHeaders(headers, {});
  };

  readonly onWantTrailers = (): void => {
    this.down.sendTrailers(this.#trailers ?? grpcStatusTrailers(RejectCode.UPSTREAM_UNAVAILABLE));
  };

  readonly onUpstreamError = (err: NodeJS.ErrnoException): void => {
    this.#upError = err; // the outcome is decided on 'close'
  };

  readonly onUpstreamClose = (): void => {
    clearTimeout(this.#timer);
    const { down, up } = this;
    if (this.#settled || down.closed || down.destroyed) return;
    const code = up.rstCode ?? 0;
    // The app reset the stream (what 'aborted' reports; read here, no listener per call).
    const peerReset = up.aborted;
    if (!down.headersSent) {
      // No answer from the app. A reset it chose (not "refused") is passed on as is;
      // anything else — connection refused, GOAWAY, refused stream — is UNAVAILABLE.
      if (peerReset && code !== NGHTTP2_REFUSED_STREAM && code !== 0) down.close(code);
      else {
        log.debug('upstream stream failed before a response', { path: this.call.path, rstCode: code, error: this.#upError?.code ?? this.#upError?.message });
        replyGrpc(this.exchange, UNAVAILABLE);
      }
    } else if (this.#trailers === undefined) {
      if (peerReset && code !== 0) down.close(code);
      else {
        // Connection lost mid-call: finish the call with UNAVAILABLE in trailers.
        this.#trailers = grpcStatusTrailers(RejectCode.UPSTREAM_UNAVAILABLE);
        down.end();
      }
    }
  };

  /** Caller cancelled, reset or finished: stop the app's side too. */
  readonly onCallerClose = (): void => {
    clearTimeout(this.#timer);
    this.request?.stop();
    const { down, up } = this;
    if (!up.closed && !up.destroyed) up.close(down.rstCode && down.rstCode !== 0 ? down.rstCode : NGHTTP2_CANCEL);
    this.#destroyStages();
  };

  #requestStages(): Transform[] | undefined {
    const pacers = this.call.requestPacers;
    if (pacers === undefined) return undefined;
    const stages = pacers.map((p) => new PacingTransform(p));
    (this.#stages ??= []).push(...stages);
    return stages;
  }

  #responseStages(): Transform[] | undefined {
    const pacers = this.call.responsePacers;
    if (pacers === undefined) return undefined;
    const stages = pacers.map((p) => new PacingTransform(p));
    (this.#stages ??= []).push(...stages);
    return stages;
  }

  #destroyStages(): void {
    if (this.#stages !== undefined) for (const t of this.#stages) t.destroy();
  }
}

function copyHeaders(headers: IncomingHttpHeaders, out: OutgoingHttpHeaders): OutgoingHttpHeaders {
  for (const name in headers) {
    if (name.charCodeAt(0) !== 0x3a) out[name] = headers[name];
  }
  return out;
}

