// Sends an accepted GraphQL request to the app's GraphQL endpoint over HTTP/1.1 keep-alive
// (data path): the body meshward already read and checked, the caller's headers minus
// hop-by-hop and asserted ones, meshward's identity and trace headers; the answer is
// streamed back. App unreachable → 503, deadline → 504 (DESIGN §5).
//
// Keep-alive race: an app closes an idle connection when its keep-alive timeout runs out
// (Node's default: 5 s); a request written on it at that moment fails without an answer. So
// idle pooled sockets are dropped well before (FREE_SOCKET_TIMEOUT_MS, or the app's
// `Keep-Alive: timeout` hint less a second), and a request that failed that way on a reused
// socket — before any byte of a response — is sent once more on a new connection when it is
// safe to repeat: a GET, or a POST whose one operation is a query (never a mutation).

import http, { type OutgoingHttpHeaders } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { RejectCode } from '../core/codes.js';
import type { CallInfo, Rejection } from '../core/filter.js';
import { log } from '../core/log.js';
import { graphqlReply } from '../core/reply.js';
import { AssertedHeaders, isAssertedHeader } from '../proxy/asserted-headers.js';
import type { GraphqlExchange } from './graphql-exchange.js';

/** Idle pooled connections to the app are closed after this (below common keep-alive timeouts). */
const FREE_SOCKET_TIMEOUT_MS = 1_000;

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
    // `timeout` applies to pooled (free) sockets only; Node lowers it to the app's hint.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo', timeout: FREE_SOCKET_TIMEOUT_MS });
    this.asserted = new AssertedHeaders(localId);
  }

  forward(ctx: CallInfo, exchange: GraphqlExchange, body: Buffer | undefined): void {
    if (exchange.closed) return;
    const headers = this.requestHeaders(ctx, exchange.headers, body);
    const repeatable = exchange.method === 'GET' || (ctx.graphql?.operationType === 'query' && ctx.graphql.operations === 1);
    let settled = false;
    let request: http.ClientRequest;
    const left = Math.max(0, ctx.timeoutMs - (performance.now() - ctx.startedAt));
    const timer = setTimeout(() => fail(DEADLINE), left);

    const fail = (rejection: Rejection): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      if (exchange.responded) return exchange.abort();
      // No answer from the app yet: meshward answers (503 / 504).
      const reply = graphqlReply(rejection, exchange.headers.accept);
      exchange.respond(reply.status, reply.headers, reply.body);
    };
    const send = (retry: boolean): void => {
      // The retry takes a connection of its own: another pooled one may be just as stale.
      const req = http.request({ agent: retry ? false : this.agent, host: this.app.host, port: this.app.port, method: exchange.method, path: exchange.target, headers });
      request = req;
      let answered = false;
      req.on('response', (response) => {
        answered = true;
        if (settled) return response.destroy();
        response.once('end', () => clearTimeout(timer));
        response.once('error', () => fail(UNAVAILABLE));
        exchange.relay(response);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (settled || req !== request) return;
        if (!retry && !answered && repeatable && req.reusedSocket) {
          log.debug('graphql app closed a kept-alive connection: request sent again', { error: err.code ?? err.message });
          return send(true);
        }
        log.debug('graphql app request failed', { error: err.code ?? err.message });
        fail(UNAVAILABLE);
      });
      req.end(body);
    };
    exchange.onAbort(() => {
      settled = true;
      clearTimeout(timer);
      request.destroy();
    });
    send(false);
  }

  private requestHeaders(ctx: CallInfo, h: IncomingHttpHeaders, body: Buffer | undefined): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = {};
    for (const name in h) {
      if (name.charCodeAt(0) === 0x3a /* : */ || NOT_FORWARDED.has(name) || name.startsWith('proxy-') || isAssertedHeader(name)) continue;
      out[name] = h[name];
    }
    out.host = (h[':authority'] as string | undefined) ?? h.host ?? `${this.app.host}:${this.app.port}`;
    if (body !== undefined) out['content-length'] = body.length;
    this.asserted.apply(out, ctx.peer, ctx.trace);
    return out;
  }

  close(): void {
    this.agent.destroy();
  }
}
