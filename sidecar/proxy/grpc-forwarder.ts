// Forwards one gRPC call to the app (data path), byte for byte: request and response
// messages are piped (flow control end to end), metadata and trailers copied, the
// deadline enforced, and cancellation or resets passed on in both directions. A call with a
// message guard (message validation) relays only checked request messages, and unless it is
// a bidi stream the app's stream opens once the first one passed (guarded-request.ts).

import http2, { type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Readable, Transform, Writable } from 'node:stream';
import { RejectCode } from '../core/codes.js';
import { log } from '../core/log.js';
import type { CallContext, Rejection } from '../core/filter.js';
import { discardRequestBody, grpcStatusTrailers, replyGrpc } from '../core/reply.js';
import { formatGrpcTimeout } from '../grpc/timeout.js';
import { AssertedHeaders, isAssertedHeader } from './asserted-headers.js';
import { GuardedRequest } from './guarded-request.js';
import type { UpstreamPool } from './upstream-pool.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

const UNAVAILABLE = { code: RejectCode.UPSTREAM_UNAVAILABLE, reason: 'app_unavailable' } as const;
const DEADLINE = { code: RejectCode.DEADLINE_EXCEEDED, reason: 'deadline_exceeded' } as const;
const TRANSFORM_FAILED = { code: RejectCode.INTERNAL, reason: 'transform_error' } as const;

export class GrpcForwarder {
  private readonly asserted: AssertedHeaders;

  /** `localId` is this workload's SPIFFE ID, the `By=` of x-forwarded-client-cert. */
  constructor(
    private readonly pool: UpstreamPool,
    localId: string,
    /** "https" when the upstream is a remote sidecar over mTLS (outbound routes). */
    private readonly scheme: 'http' | 'https' = 'http',
  ) {
    this.asserted = new AssertedHeaders(localId);
  }

  forward(ctx: CallContext): void {
    const down = ctx.stream;
    if (down.closed || down.destroyed) return;
    const guard = ctx.messageGuard;
    if (guard === undefined) return this.open(ctx, undefined);
    const request = new GuardedRequest(down, guard);
    if (!guard.holdFirst) return this.open(ctx, request);

    // Nothing reaches the app until the first request message passed: a refused one means the
    // app never sees the call. The deadline runs meanwhile.
    const timer = setTimeout(() => {
      request.stop();
      replyGrpc(down, DEADLINE);
    }, Math.max(0, ctx.timeoutMs - (performance.now() - ctx.startedAt)));
    const onClose = (): void => {
      clearTimeout(timer);
      request.stop();
    };
    down.once('close', onClose);
    request.onRefuse = (refusal) => {
      clearTimeout(timer);
      ctx.lateRejection = ctx.rejection = refusal;
      replyGrpc(down, refusal);
    };
    request.onFirst = () => {
      clearTimeout(timer);
      down.removeListener('close', onClose);
      if (!down.closed && !down.destroyed) this.open(ctx, request);
    };
  }

  private open(ctx: CallContext, request: GuardedRequest | undefined): void {
    const down = ctx.stream;
    let up: ClientHttp2Stream;
    try {
      up = this.pool.request(this.requestHeaders(ctx));
    } catch {
      request?.stop();
      replyGrpc(down, UNAVAILABLE);
      return;
    }

    let trailers: OutgoingHttpHeaders | undefined;
    let settled = false; // down's outcome is decided (deadline) — ignore later upstream events
    let responseTail: Readable = up; // what feeds `down`: up itself, or the last response transform
    const elapsed = performance.now() - ctx.startedAt;
    const timer = setTimeout(onDeadline, Math.max(0, ctx.timeoutMs - elapsed));

    function onDeadline(): void {
      settled = true;
      request?.stop();
      up.close(NGHTTP2_CANCEL);
      if (!down.headersSent) return replyGrpc(down, DEADLINE);
      trailers = grpcStatusTrailers(RejectCode.DEADLINE_EXCEEDED);
      responseTail.unpipe(down);
      down.end();
    }

    // A limit ended the call after the forward began (ratelimit/: a request message over
    // maxMessageBytes). The app's side is reset before the chunk that broke the limit is
    // written to it; the caller gets the refusal, and the audit log sees it when the call ends.
    function onLimit(rejection: Rejection): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request?.stop();
      // Detach `down` from its request transforms first: destroying one it is piped into would
      // unpipe — and pause — `down` after the reply's discard resumed it, and a paused stream
      // never closes. Ending `up` makes the relay drop the chunk that broke the limit.
      down.unpipe();
      up.close(NGHTTP2_CANCEL);
      destroyTransforms(ctx);
      ctx.lateRejection = ctx.rejection = rejection;
      if (!down.headersSent) return replyGrpc(down, rejection);
      trailers = grpcStatusTrailers(rejection.code, rejection.replyHeaders);
      responseTail.unpipe(down);
      down.end();
      discardRequestBody(down);
    }

    up.on('response', (headers: IncomingHttpHeaders, flags: number) => {
      if (settled || down.closed) return;
      const out = copyHeaders(headers, { ':status': headers[':status'] ?? 200 });
      if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
        down.respond(out, { endStream: true }); // trailers-only answer from the app
        return;
      }
      down.respond(out, { waitForTrailers: true });
      responseTail = pipeVia(up, ctx.responseTransforms, down, onLimit);
    });
    up.on('trailers', (headers: IncomingHttpHeaders) => {
      trailers = copyHeaders(headers, {});
    });
    down.on('wantTrailers', () => {
      down.sendTrailers(trailers ?? grpcStatusTrailers(RejectCode.UPSTREAM_UNAVAILABLE));
    });
    let upError: NodeJS.ErrnoException | undefined;
    up.on('error', (err: NodeJS.ErrnoException) => {
      upError = err; // the outcome is decided on 'close'
    });
    up.on('close', () => {
      clearTimeout(timer);
      if (settled || down.closed || down.destroyed) return;
      const code = up.rstCode ?? 0;
      // The app reset the stream (what 'aborted' reports; read here, no listener per call).
      const peerReset = up.aborted;
      if (!down.headersSent) {
        // No answer from the app. A reset it chose (not "refused") is passed on as is;
        // anything else — connection refused, GOAWAY, refused stream — is UNAVAILABLE.
        if (peerReset && code !== NGHTTP2_REFUSED_STREAM && code !== 0) down.close(code);
        else {
          log.debug('upstream stream failed before a response', { path: ctx.path, rstCode: code, error: upError?.code ?? upError?.message });
          replyGrpc(down, UNAVAILABLE);
        }
      } else if (trailers === undefined) {
        if (peerReset && code !== 0) {
          down.close(code);
        } else {
          // Connection lost mid-call: finish the call with UNAVAILABLE in trailers.
          trailers = grpcStatusTrailers(RejectCode.UPSTREAM_UNAVAILABLE);
          responseTail.unpipe(down);
          down.end();
        }
      }
    });

    // Caller cancelled or reset: stop the app's side too.
    down.on('close', () => {
      clearTimeout(timer);
      request?.stop();
      if (!up.closed && !up.destroyed) up.close(down.rstCode && down.rstCode !== 0 ? down.rstCode : NGHTTP2_CANCEL);
      destroyTransforms(ctx);
    });
    if (request !== undefined) {
      // The message guard holds messages up to the same maxMessageBytes the size guard checks.
      request.onRefuse = onLimit;
      request.attach(sinkOf(ctx.requestTransforms, up, onLimit));
      return;
    }
    const guard = ctx.requestGuard;
    if (guard !== undefined) {
      // Registered before the relay's own 'data' listener: it sees each chunk first.
      down.on('data', (chunk: Buffer) => {
        if (settled) return;
        const refused = guard.check(chunk);
        if (refused !== undefined) onLimit(refused);
      });
    }
    pipeVia(down, ctx.requestTransforms, up, onLimit);
  }

  private requestHeaders(ctx: CallContext): OutgoingHttpHeaders {
    const h = ctx.headers;
    const out: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':scheme': this.scheme,
      ':path': ctx.path,
      ':authority': h[':authority'] ?? 'localhost',
    };
    for (const name in h) {
      if (name.charCodeAt(0) === 0x3a /* : */ || isAssertedHeader(name) || name === 'grpc-timeout') continue;
      out[name] = h[name];
    }
    out['grpc-timeout'] = formatGrpcTimeout(ctx.timeoutMs - (performance.now() - ctx.startedAt));
    this.asserted.apply(out, ctx.peer, ctx.trace);
    return out;
  }
}

/**
 * Pipes `src` through the transforms filters put on the context (bandwidth shaping) into
 * `dst`; a call without any is a plain relay. Returns the stream that feeds `dst`.
 */
function pipeVia(src: Readable, transforms: readonly Transform[] | undefined, dst: Writable, onLimit: (r: Rejection) => void): Readable {
  let tail = src;
  if (transforms !== undefined) {
    for (const t of transforms) {
      t.once('error', () => onLimit(TRANSFORM_FAILED));
      tail = tail.pipe(t);
    }
  }
  relay(tail, dst);
  return tail;
}

/** Where request bytes go on their way to `dst`: the first transform (the rest piped on), or `dst` itself. */
function sinkOf(transforms: readonly Transform[] | undefined, dst: Writable, onLimit: (r: Rejection) => void): Writable {
  if (transforms === undefined || transforms.length === 0) return dst;
  let tail: Readable = transforms[0]!;
  transforms[0]!.once('error', () => onLimit(TRANSFORM_FAILED));
  for (let i = 1; i < transforms.length; i++) {
    const t = transforms[i]!;
    t.once('error', () => onLimit(TRANSFORM_FAILED));
    tail = tail.pipe(t);
  }
  relay(tail, dst);
  return transforms[0]!;
}

/**
 * Moves bytes from `src` to `dst` with flow control, as `src.pipe(dst)` does but with two
 * listeners instead of pipe's dozen added and removed per call (on an Http2Stream each
 * listener change also emits 'newListener'/'removeListener'). Once `dst` is ended or
 * destroyed (a deadline or a limit finished the call) chunks are dropped, so callers'
 * `unpipe` is not needed.
 */
function relay(src: Readable, dst: Writable): void {
  let waiting = false;
  const resume = (): void => {
    waiting = false;
    src.resume();
  };
  src.on('data', (chunk: Buffer) => {
    if (dst.writableEnded || dst.destroyed) return;
    if (!dst.write(chunk) && !waiting) {
      waiting = true;
      src.pause();
      dst.once('drain', resume);
    }
  });
  src.on('end', () => {
    if (!dst.writableEnded && !dst.destroyed) dst.end();
  });
}

function destroyTransforms(ctx: CallContext): void {
  if (ctx.requestTransforms !== undefined) for (const t of ctx.requestTransforms) t.destroy();
  if (ctx.responseTransforms !== undefined) for (const t of ctx.responseTransforms) t.destroy();
}

function copyHeaders(headers: IncomingHttpHeaders, out: OutgoingHttpHeaders): OutgoingHttpHeaders {
  for (const name in headers) {
    if (name.charCodeAt(0) !== 0x3a) out[name] = headers[name];
  }
  return out;
}
