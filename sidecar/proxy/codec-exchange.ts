// A stream of meshward's own HTTP/2 codec (sidecar/h2/) as an exchange (data path): gRPC calls
// (`CodecExchange`) and GraphQL over HTTP/2 (`CodecHttpExchange`). The exchange is the stream's
// handler for its whole life: while the chain decides, request DATA waits here with its
// flow-control credit held (the caller is slowed, nothing is buffered beyond the window);
// a forward attaches a relay, which gets what waited and every later event; a refusal drops it.

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { BodyRead, Exchange } from '../core/exchange.js';
import type { ReplyHeaders } from '../core/filter.js';
import type { CallOutcome } from '../core/observer.js';
import { ErrorCode } from '../h2/constants.js';
import type { RequestHead } from '../h2/header-rules.js';
import type { H2Stream, StreamHandler } from '../h2/stream.js';
import { CodecHeaders } from './codec-headers.js';
import { httpOutcome, responseHeaders, type HttpExchange } from './http-exchange.js';

/** A request DATA frame that arrived before a relay was attached. */
interface Pending {
  readonly buf: Buffer;
  readonly frameOff: number;
  readonly dataOff: number;
  readonly dataLen: number;
  readonly endStream: boolean;
}

/** A body being read whole (readBody). */
interface BodyReader {
  readonly max: number;
  readonly chunks: Buffer[];
  size: number;
  readonly done: (r: BodyRead) => void;
}

// After answering, the request body is not wanted: the caller is asked to stop (RST_STREAM
// NO_ERROR, RFC 9113 §8.1) — not at once: a reset right behind the answer can cost the caller
// the answer (curl reports the stream as failed). One that is done sending closes first.
const DISCARD_GRACE_MS = 1000;

export class CodecExchange implements Exchange, StreamHandler {
  readonly headers: CodecHeaders;
  #sink: StreamHandler | undefined;
  #pending: Pending[] | undefined;
  #trailers: string[] | undefined;
  #reader: BodyReader | undefined;
  #discarding = false;
  #closeListeners: (() => void) | (() => void)[] | undefined;
  #over = false;

  constructor(
    readonly stream: H2Stream,
    pairs: string[],
    readonly head: RequestHead,
  ) {
    this.headers = new CodecHeaders(pairs);
    stream.handler = this;
  }

  get method(): string {
    return this.head.method;
  }

  get target(): string {
    return this.head.path;
  }

  get closed(): boolean {
    const s = this.stream;
    return s.closed || s.localEnded || s.endQueued;
  }

  get responded(): boolean {
    return this.stream.headersSent;
  }

  /** The caller sent END_STREAM (with its HEADERS, DATA or trailers). */
  get requestEnded(): boolean {
    return this.stream.remoteEnded;
  }

  /** Request DATA is waiting for a relay. */
  get hasPendingData(): boolean {
    return this.#pending !== undefined && this.#pending.length > 0;
  }

  /** The rest of the request body is not wanted (meshward answered): see #discard. */
  discardRequestBody(): void {
    this.#discard();
  }

  /** Hands the stream to `sink` (the relay): what waited first, then every later event. */
  attach(sink: StreamHandler): void {
    this.#sink = sink;
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined) for (const p of pending) sink.onData(this.stream, p.buf, p.frameOff, p.dataOff, p.dataLen, p.endStream);
    if (this.#trailers !== undefined) sink.onTrailers(this.stream, this.#trailers);
  }

  readBody(maxBytes: number): Promise<BodyRead> {
    if (this.head.contentLength > maxBytes) {
      this.#discard();
      return Promise.resolve('too_large');
    }
    return new Promise((resolve) => {
      const reader: BodyReader = { max: maxBytes, chunks: [], size: 0, done: resolve };
      this.#reader = reader;
      const pending = this.#pending;
      this.#pending = undefined;
      if (pending !== undefined) for (const p of pending) this.#read(p.buf.subarray(p.dataOff, p.dataOff + p.dataLen), p.endStream);
      if (this.#reader === reader && (this.stream.remoteEnded || this.#trailers !== undefined)) this.#endRead();
      else if (this.stream.closed && this.#reader === reader) this.#finishRead('aborted');
    });
  }

  respond(status: number, headers: ReplyHeaders, body: string | undefined): void {
    const s = this.stream;
    if (this.closed || s.headersSent) return;
    const pairs = [':status', String(status)];
    for (const name in headers) pairs.push(name, headers[name]!);
    s.respond(pairs, body === undefined);
    if (body !== undefined) s.write(Buffer.from(body), true);
    this.#discard();
  }

  reset(): void {
    this.stream.reset(ErrorCode.INTERNAL_ERROR);
    this.#closed();
  }

  onClose(listener: () => void): void {
    if (this.#over) return void queueMicrotask(listener);
    const l = this.#closeListeners;
    this.#closeListeners = l === undefined ? listener : Array.isArray(l) ? [...l, listener] : [l, listener];
  }

  outcome(startedAt: number): CallOutcome {
    const s = this.stream;
    return {
      grpcStatus: s.sentGrpcStatus === undefined ? undefined : Number(s.sentGrpcStatus),
      httpStatus: s.sentStatus === 0 ? undefined : s.sentStatus,
      rstCode: s.resetCode === undefined || s.resetCode === 0 ? undefined : s.resetCode,
      durationMs: performance.now() - startedAt,
    };
  }

  // ---- StreamHandler: the caller's stream ------------------------------------------

  onResponse(): void {
    // Server streams get no response.
  }

  onData(stream: H2Stream, buf: Buffer, frameOff: number, dataOff: number, dataLen: number, endStream: boolean): void {
    if (this.#sink !== undefined) return this.#sink.onData(stream, buf, frameOff, dataOff, dataLen, endStream);
    if (this.#discarding) return stream.consumed(dataLen);
    if (this.#reader !== undefined) return this.#read(buf.subarray(dataOff, dataOff + dataLen), endStream);
    (this.#pending ??= []).push({ buf, frameOff, dataOff, dataLen, endStream });
  }

  onTrailers(stream: H2Stream, headers: string[]): void {
    if (this.#sink !== undefined) return this.#sink.onTrailers(stream, headers);
    this.#trailers = headers;
    if (this.#reader !== undefined) this.#endRead();
  }

  onReset(stream: H2Stream, code: number, byPeer: boolean): void {
    this.#sink?.onReset(stream, code, byPeer);
    if (this.#reader !== undefined) this.#finishRead('aborted');
    this.#closed();
  }

  onSent(stream: H2Stream, bytes: number): void {
    this.#sink?.onSent(stream, bytes);
  }

  onComplete(stream: H2Stream): void {
    this.#sink?.onComplete(stream);
    if (this.#reader !== undefined) this.#finishRead('aborted');
    this.#closed();
  }

  // ----------------------------------------------------------------------------------

  #read(chunk: Buffer, endStream: boolean): void {
    const reader = this.#reader!;
    this.stream.consumed(chunk.length);
    reader.size += chunk.length;
    if (reader.size > reader.max) {
      this.#finishRead('too_large');
      this.#discard();
      return;
    }
    if (chunk.length > 0) reader.chunks.push(Buffer.from(chunk));
    if (endStream) this.#endRead();
  }

  #endRead(): void {
    const r = this.#reader!;
    this.#finishRead(r.chunks.length === 1 ? r.chunks[0]! : Buffer.concat(r.chunks, r.size));
  }

  #finishRead(result: BodyRead): void {
    const r = this.#reader;
    if (r === undefined) return;
    this.#reader = undefined;
    r.done(result);
  }

  /** The request body is not wanted: what waited is dropped (its credit returned), the rest too. */
  #discard(): void {
    if (this.#discarding) return;
    this.#discarding = true;
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined) for (const p of pending) this.stream.consumed(p.dataLen);
    const s = this.stream;
    if (s.remoteEnded || s.closed) return;
    const timer = setTimeout(() => {
      if (!s.closed && !s.remoteEnded) s.reset(ErrorCode.NO_ERROR);
    }, DISCARD_GRACE_MS);
    timer.unref();
  }

  #closed(): void {
    if (this.#over) return;
    this.#over = true;
    const l = this.#closeListeners;
    this.#closeListeners = undefined;
    if (l === undefined) return;
    if (Array.isArray(l)) for (const f of l) f();
    else l();
  }
}

/** GraphQL over HTTP/2: its body is read whole for the guard; the app's HTTP/1.1 answer is relayed. */
export class CodecHttpExchange extends CodecExchange implements HttpExchange {
  #onAbort: (() => void) | undefined;

  get nodeHeaders(): IncomingHttpHeaders {
    return this.headers.object;
  }

  /** The app's response: status and headers, then its body with flow control (the response is paused on a full window). */
  relay(response: IncomingMessage): void {
    const s = this.stream;
    if (this.closed) {
      response.destroy();
      return;
    }
    const pairs = [':status', String(response.statusCode ?? 502)];
    const h = responseHeaders(response);
    for (const name in h) {
      const v = h[name]!;
      if (Array.isArray(v)) for (const x of v) pairs.push(name, x);
      else pairs.push(name, v);
    }
    s.respond(pairs, false);
    let waiting = 0;
    this.attach({
      onResponse() {},
      onData: (stream, _b, _f, _o, len) => stream.consumed(len), // the request body was read; more is dropped
      onTrailers() {},
      onReset: () => response.destroy(),
      onSent: (_st, bytes) => {
        waiting -= bytes;
        if (waiting <= 0 && response.isPaused()) response.resume();
      },
      onComplete: () => undefined,
    });
    response.on('data', (chunk: Buffer) => {
      if (s.closed) return;
      waiting += s.write(chunk, false);
      if (waiting > 0) response.pause();
    });
    response.once('end', () => {
      if (!s.closed) s.end();
    });
  }

  onAbort(callback: () => void): void {
    this.#onAbort = callback;
    this.onClose(() => {
      // The caller left before the response was complete.
      if (!this.stream.localEnded) this.#onAbort?.();
    });
  }

  override outcome(startedAt: number): CallOutcome {
    const s = this.stream.sentStatus;
    return httpOutcome(s === 0 ? undefined : s, startedAt);
  }
}
