// An HTTP/1.1 request and its response as an exchange (data path): GraphQL clients that
// negotiate `http/1.1` (DESIGN §1). Replies are written here for core/reply.ts.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { BodyRead } from '../core/exchange.js';
import type { ReplyHeaders } from '../core/filter.js';
import type { CallOutcome } from '../core/observer.js';
import { httpOutcome, responseHeaders, type HttpExchange } from './http-exchange.js';
import { NodeHeaders } from './node-headers.js';
import { readBody } from './read-body.js';

export class Http1Exchange implements HttpExchange {
  readonly headers: NodeHeaders;
  #closed = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    this.headers = new NodeHeaders(req.headers, req.rawHeaders);
    res.once('close', () => (this.#closed = true));
  }

  get nodeHeaders(): IncomingHttpHeaders {
    return this.req.headers;
  }

  get method(): string {
    return this.req.method ?? 'GET';
  }

  get target(): string {
    return this.req.url ?? '';
  }

  get closed(): boolean {
    return this.#closed;
  }

  get responded(): boolean {
    return this.res.headersSent;
  }

  readBody(maxBytes: number): Promise<BodyRead> {
    return readBody(this.req, this.req.headers['content-length'], maxBytes, () => {
      // The rest of the body would have to be read to keep the connection: close it instead.
      this.res.shouldKeepAlive = false;
      this.req.pause();
    });
  }

  respond(status: number, headers: ReplyHeaders, body: string | undefined): void {
    const res = this.res;
    if (this.#closed || res.headersSent) return;
    res.writeHead(status, { ...headers, 'content-length': body === undefined ? 0 : Buffer.byteLength(body) });
    res.end(body);
    if (!this.req.complete) res.once('finish', () => this.req.socket.destroySoon());
  }

  relay(response: IncomingMessage): void {
    if (this.#closed) {
      response.destroy();
      return;
    }
    this.res.writeHead(response.statusCode ?? 502, responseHeaders(response));
    response.pipe(this.res);
  }

  reset(): void {
    this.res.destroy();
  }

  onClose(listener: () => void): void {
    this.res.once('close', listener);
  }

  onAbort(callback: () => void): void {
    this.res.once('close', () => {
      if (!this.res.writableFinished) callback();
    });
  }

  outcome(startedAt: number): CallOutcome {
    return httpOutcome(this.res.headersSent ? this.res.statusCode : undefined, startedAt);
  }
}
