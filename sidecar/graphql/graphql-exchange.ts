// One GraphQL-over-HTTP request and its response, whatever the HTTP version (data path):
// an HTTP/2 stream or an HTTP/1.1 request/response pair behind one small interface, so the
// guard, the replies and the forwarder are written once.

import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import { discardRequestBody } from '../core/reply.js';

export type BodyResult = Buffer | 'too_large' | 'aborted';

export interface GraphqlExchange {
  readonly httpVersion: '1.1' | '2';
  readonly method: string;
  /** The request target as received: path and query string. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  /** The whole request body, at most `maxBytes` (a larger one is refused without buffering it). */
  readBody(maxBytes: number): Promise<BodyResult>;
  /** A complete response from meshward. */
  respond(status: number, headers: OutgoingHttpHeaders, body: string): void;
  /** Relays the app's response: status, headers (hop-by-hop removed) and body, streamed. */
  relay(response: IncomingMessage): void;
  /** Ends the exchange abruptly (the app failed after its response began). */
  abort(): void;
  readonly responded: boolean;
  readonly closed: boolean;
  /** The HTTP status sent, if any. */
  readonly status: number | undefined;
  /** Called once when the exchange is over (response finished, or either side gone). */
  onClose(callback: () => void): void;
  /** Called when the caller goes away before the response is complete. */
  onAbort(callback: () => void): void;
}

/** Response headers of the app that are about the hop, not the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'http2-settings']);

export function responseHeaders(response: IncomingMessage): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const h = response.headers;
  for (const name in h) if (!HOP_BY_HOP.has(name)) out[name] = h[name];
  return out;
}

function collect(source: Readable, declared: string | undefined, maxBytes: number, onTooLarge: () => void): Promise<BodyResult> {
  if (declared !== undefined && Number(declared) > maxBytes) {
    onTooLarge();
    return Promise.resolve('too_large');
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyResult): void => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('close', onGone);
      source.off('aborted', onGone);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        onTooLarge();
        done('too_large');
      } else chunks.push(chunk);
    };
    const onEnd = (): void => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    const onGone = (): void => done('aborted');
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('close', onGone);
    source.once('aborted', onGone);
  });
}

export function http2Exchange(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: readonly string[]): GraphqlExchange {
  const target = String(headers[':path'] ?? '');
  return {
    httpVersion: '2',
    method: String(headers[':method'] ?? 'GET'),
    target,
    headers,
    rawHeaders,
    readBody: (maxBytes) => collect(stream, headers['content-length'], maxBytes, () => stream.pause()),
    respond(status, extra, body) {
      if (stream.destroyed || stream.closed || stream.headersSent) return;
      stream.respond({ ...extra, ':status': status });
      stream.end(body);
      // The rest of a request body is not wanted: dropped, and cut off if it keeps coming.
      discardRequestBody(stream);
    },
    relay(response) {
      if (stream.destroyed || stream.closed) {
        response.destroy();
        return;
      }
      stream.respond({ ...responseHeaders(response), ':status': response.statusCode ?? 502 });
      response.pipe(stream);
    },
    abort: () => stream.close(0x2 /* INTERNAL_ERROR */),
    get responded() {
      return stream.headersSent;
    },
    get closed() {
      return stream.closed || stream.destroyed;
    },
    get status() {
      const s = stream.sentHeaders?.[':status'];
      return s === undefined ? undefined : Number(s);
    },
    onClose: (callback) => stream.once('close', callback),
    onAbort: (callback) => stream.once('aborted', callback),
  };
}

export function http1Exchange(req: IncomingMessage, res: ServerResponse): GraphqlExchange {
  let closed = false;
  res.once('close', () => (closed = true));
  return {
    httpVersion: '1.1',
    method: req.method ?? 'GET',
    target: req.url ?? '',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    readBody: (maxBytes) =>
      collect(req, req.headers['content-length'], maxBytes, () => {
        // The rest of the body would have to be read to keep the connection: close it instead.
        res.shouldKeepAlive = false;
        req.pause();
      }),
    respond(status, extra, body) {
      if (closed || res.headersSent) return;
      res.writeHead(status, { ...extra, 'content-length': Buffer.byteLength(body) });
      res.end(body);
      if (!req.complete) res.once('finish', () => req.socket.destroySoon());
    },
    relay(response) {
      if (closed) {
        response.destroy();
        return;
      }
      res.writeHead(response.statusCode ?? 502, responseHeaders(response));
      response.pipe(res);
    },
    abort: () => res.destroy(),
    get responded() {
      return res.headersSent;
    },
    get closed() {
      return closed;
    },
    get status() {
      return res.headersSent ? res.statusCode : undefined;
    },
    onClose: (callback) => res.once('close', callback),
    onAbort: (callback) =>
      res.once('close', () => {
        if (!res.writableFinished) callback();
      }),
  };
}
