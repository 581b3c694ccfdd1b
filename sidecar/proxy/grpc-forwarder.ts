// Forwards one gRPC call to the app (data path), byte for byte: request and response
// messages are piped (flow control end to end), metadata and trailers copied, the
// deadline enforced, and cancellation or resets passed on in both directions.

import http2, { type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { RejectCode } from '../core/codes.js';
import type { CallContext } from '../core/filter.js';
import { grpcStatusTrailers, replyGrpc } from '../core/reply.js';
import { formatGrpcTimeout } from '../grpc/timeout.js';
import type { UpstreamPool } from './upstream-pool.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

const UNAVAILABLE = { code: RejectCode.UPSTREAM_UNAVAILABLE, reason: 'app_unavailable' } as const;
const DEADLINE = { code: RejectCode.DEADLINE_EXCEEDED, reason: 'deadline_exceeded' } as const;

/** Headers a caller may not set because meshward asserts them to the app (DESIGN §5). */
function isAssertedHeader(name: string): boolean {
  return name === 'x-forwarded-client-cert' || name.startsWith('x-meshward-');
}

export class GrpcForwarder {
  /** `localId` is this workload's SPIFFE ID, the `By=` of x-forwarded-client-cert. */
  constructor(
    private readonly pool: UpstreamPool,
    private readonly localId: string,
  ) {}

  forward(ctx: CallContext): void {
    const down = ctx.stream;
    if (down.closed || down.destroyed) return;

    let up: ClientHttp2Stream;
    try {
      up = this.pool.request(this.requestHeaders(ctx));
    } catch {
      replyGrpc(down, UNAVAILABLE);
      return;
    }

    let trailers: OutgoingHttpHeaders | undefined;
    let settled = false; // down's outcome is decided (deadline) — ignore later upstream events
    let peerReset = false;
    const elapsed = performance.now() - ctx.startedAt;
    const timer = setTimeout(onDeadline, Math.max(0, ctx.timeoutMs - elapsed));

    function onDeadline(): void {
      settled = true;
      up.close(NGHTTP2_CANCEL);
      if (!down.headersSent) return replyGrpc(down, DEADLINE);
      trailers = grpcStatusTrailers(RejectCode.DEADLINE_EXCEEDED);
      up.unpipe(down);
      down.end();
    }

    up.on('response', (headers: IncomingHttpHeaders, flags: number) => {
      if (settled || down.closed) return;
      const out = copyHeaders(headers, { ':status': headers[':status'] ?? 200 });
      if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
        down.respond(out, { endStream: true }); // trailers-only answer from the app
        return;
      }
      down.respond(out, { waitForTrailers: true });
      up.pipe(down);
    });
    up.on('trailers', (headers: IncomingHttpHeaders) => {
      trailers = copyHeaders(headers, {});
    });
    down.on('wantTrailers', () => {
      down.sendTrailers(trailers ?? grpcStatusTrailers(RejectCode.UPSTREAM_UNAVAILABLE));
    });
    up.on('aborted', () => {
      peerReset = true;
    });
    up.on('error', () => {
      /* the outcome is handled on 'close' */
    });
    up.on('close', () => {
      clearTimeout(timer);
      if (settled || down.closed || down.destroyed) return;
      const code = up.rstCode ?? 0;
      if (!down.headersSent) {
        // No answer from the app. A reset it chose (not "refused") is passed on as is;
        // anything else — connection refused, GOAWAY, refused stream — is UNAVAILABLE.
        if (peerReset && code !== NGHTTP2_REFUSED_STREAM && code !== 0) down.close(code);
        else replyGrpc(down, UNAVAILABLE);
      } else if (trailers === undefined) {
        if (peerReset && code !== 0) {
          down.close(code);
        } else {
          // Connection lost mid-call: finish the call with UNAVAILABLE in trailers.
          trailers = grpcStatusTrailers(RejectCode.UPSTREAM_UNAVAILABLE);
          up.unpipe(down);
          down.end();
        }
      }
    });

    // Caller cancelled or reset: stop the app's side too.
    down.on('close', () => {
      clearTimeout(timer);
      if (!up.closed && !up.destroyed) up.close(down.rstCode && down.rstCode !== 0 ? down.rstCode : NGHTTP2_CANCEL);
    });
    down.pipe(up);
  }

  private requestHeaders(ctx: CallContext): OutgoingHttpHeaders {
    const h = ctx.headers;
    const out: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':scheme': 'http',
      ':path': ctx.path,
      ':authority': h[':authority'] ?? 'localhost',
    };
    for (const name in h) {
      if (name.charCodeAt(0) === 0x3a /* : */ || isAssertedHeader(name) || name === 'grpc-timeout') continue;
      out[name] = h[name];
    }
    out['grpc-timeout'] = formatGrpcTimeout(ctx.timeoutMs - (performance.now() - ctx.startedAt));
    const peer = ctx.peer;
    if (peer.authenticated && peer.spiffeId !== undefined) {
      out['x-forwarded-client-cert'] = `By=${this.localId};Hash=${peer.certSha256 ?? ''};URI=${peer.spiffeId}`;
      out['x-meshward-principal'] = peer.spiffeId;
    }
    return out;
  }
}

function copyHeaders(headers: IncomingHttpHeaders, out: OutgoingHttpHeaders): OutgoingHttpHeaders {
  for (const name in headers) {
    if (name.charCodeAt(0) !== 0x3a) out[name] = headers[name];
  }
  return out;
}
