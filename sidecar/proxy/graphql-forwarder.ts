// Sends an accepted GraphQL request to the app's GraphQL endpoint over HTTP/1.1 keep-alive
// (data path): the body meshward already read and checked, the caller's headers minus
// hop-by-hop and asserted ones, meshward's identity and trace headers; the answer is
// streamed back through the exchange. App unreachable → 503, deadline → 504 (DESIGN §5).

import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { RejectCode } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import { log } from '../core/log.js';
import { replyGraphql } from '../core/reply.js';
import type { Call } from '../pipeline/call.js';
import { AssertedHeaders, isAssertedHeader } from './asserted-headers.js';
import type { HttpExchange } from './http-exchange.js';

const UNAVAILABLE: Rejection = { code: RejectCode.UPSTREAM_UNAVAILABLE, reason: 'app_unavailable' };
const DEADLINE: Rejection = { code: RejectCode.DEADLINE_EXCEEDED, reason: 'deadline_exceeded' };

/** Request headers that belong to the hop (RFC 9110 §7.6.1) or that meshward sets itself. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings', 'content-length', 'host', 'expect']);

export interface GraphqlApp {
  readonly host: string;
  readonly port: number;
}

export class GraphqlForwarder {
  private readonly agent: http.Agent;
  private readonly asserted: AssertedHeaders;

  constructor(
    private readonly app: GraphqlApp,
    localId: string,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' });
    this.asserted = new AssertedHeaders(localId);
  }

  forward(call: Call, exchange: HttpExchange): void {
    if (exchange.closed) return;
    const body = call.body === 'too_large' ? undefined : call.body;
    const headers = this.requestHeaders(call, exchange.nodeHeaders, body);
    const request = http.request({ agent: this.agent, host: this.app.host, port: this.app.port, method: exchange.method, path: exchange.target, headers });
    let settled = false;
    const left = Math.max(0, call.timeoutMs - (performance.now() - call.startedAt));
    const timer = setTimeout(() => fail(DEADLINE), left);

    const fail = (rejection: Rejection): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      if (exchange.responded) return exchange.reset();
      // No answer from the app yet: meshward answers (503 / 504).
      replyGraphql(exchange, rejection);
    };
    request.on('response', (response) => {
      if (settled) return response.destroy();
      response.once('end', () => clearTimeout(timer));
      response.once('error', () => fail(UNAVAILABLE));
      exchange.relay(response);
    });
    request.on('error', (err: NodeJS.ErrnoException) => {
      log.debug('graphql app request failed', { error: err.code ?? err.message });
      fail(UNAVAILABLE);
    });
    exchange.onAbort(() => {
      settled = true;
      clearTimeout(timer);
      request.destroy();
    });
    request.end(body);
  }

  private requestHeaders(call: Call, h: IncomingHttpHeaders, body: Buffer | undefined): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = {};
    for (const name in h) {
      if (name.charCodeAt(0) === 0x3a /* : */ || NOT_FORWARDED.has(name) || name.startsWith('proxy-') || isAssertedHeader(name)) continue;
      out[name] = h[name];
    }
    out.host = (h[':authority'] as string | undefined) ?? h.host ?? `${this.app.host}:${this.app.port}`;
    if (body !== undefined) out['content-length'] = body.length;
    this.asserted.apply(out, call.peer, call.trace);
    return out;
  }

  close(): void {
    this.agent.destroy();
  }
}
