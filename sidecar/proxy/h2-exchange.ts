// A node:http2 server stream as an exchange (data path): gRPC calls (`H2Exchange`) and
// GraphQL over HTTP/2 (`H2HttpExchange`). Replies are written here for core/reply.ts; the
// outcome observers read is Node's record of what the stream sent.

import type { IncomingMessage } from 'node:http';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { BodyRead, Exchange } from '../core/exchange.js';
import type { ReplyHeaders } from '../core/filter.js';
import type { CallOutcome } from '../core/observer.js';
import { httpOutcome, responseHeaders, type HttpExchange } from './http-exchange.js';
import { NodeHeaders } from './node-headers.js';
import { readBody } from './read-body.js';

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = http2.constants;

export class H2Exchange implements Exchange {
  readonly headers: NodeHeaders;

  constructor(
    readonly stream: ServerHttp2Stream,
    nodeHeaders: IncomingHttpHeaders,
    rawHeaders: readonly string[],
  ) {
    this.headers = new NodeHeaders(nodeHeaders, rawHeaders);
  }

  get nodeHeaders(): IncomingHttpHeaders {
    return this.headers.object as IncomingHttpHeaders;
  }

  get method(): string {
    return String(this.nodeHeaders[':method'] ?? 'GET');
  }

  get target(): string {
    return this.nodeHeaders[':path'] ?? '';
  }

  get closed(): boolean {
    return this.stream.closed || this.stream.destroyed;
  }

  get responded(): boolean {
    return this.stream.headersSent;
  }

  readBody(maxBytes: number): Promise<BodyRead> {
    const stream = this.stream;
    return readBody(stream, this.headers.object['content-length'], maxBytes, () => stream.pause());
  }

  respond(status: number, headers: ReplyHeaders, body: string | undefined): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    stream.respond({ ...headers, ':status': status }, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    discardRequestBody(stream);
  }

  reset(): void {
    this.stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  onClose(listener: () => void): void {
    this.stream.once('close', listener);
  }

  /** What the closed stream sent: grpc-status (trailers or trailers-only), :status, a reset. */
  outcome(startedAt: number): CallOutcome {
    const s = this.stream;
    const trailers = s.sentTrailers;
    const headers = s.sentHeaders;
    const raw = trailers?.['grpc-status'] ?? headers?.['grpc-status'];
    const status = headers?.[':status'];
    const rst = s.rstCode;
    return {
      grpcStatus: raw === undefined ? undefined : Number(raw),
      httpStatus: status === undefined ? undefined : Number(status),
      rstCode: rst === undefined || rst === 0 ? undefined : rst,
      durationMs: performance.now() - startedAt,
    };
  }
}

/** GraphQL over HTTP/2: an HTTP exchange (its outcome is the status sent) the GraphQL forwarder relays into. */
export class H2HttpExchange extends H2Exchange implements HttpExchange {
  relay(response: IncomingMessage): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) {
      response.destroy();
      return;
    }
    stream.respond({ ...responseHeaders(response), ':status': response.statusCode ?? 502 });
    response.pipe(stream);
  }

  onAbort(callback: () => void): void {
    this.stream.once('aborted', callback);
  }

  override outcome(startedAt: number): CallOutcome {
    const s = this.stream.sentHeaders?.[':status'];
    return httpOutcome(s === undefined ? undefined : Number(s), startedAt);
  }
}

// After answering, the request body is not wanted: ask the caller to stop sending
// (RST_STREAM NO_ERROR, RFC 9113 §8.1) once our reply is out, and never buffer it.
const DISCARD_GRACE_MS = 1000;

export function discardRequestBody(stream: ServerHttp2Stream): void {
  if (stream.readableEnded) return;
  stream.resume();
  // Not at once: a reset right behind the answer can cost the caller the answer (curl, for
  // one, reports the stream as failed and drops the headers). A caller that is done sending
  // closes the stream cleanly long before this; one that keeps sending is cut off.
  const timer = setTimeout(() => {
    if (!stream.closed && !stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
  }, DISCARD_GRACE_MS);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
}
