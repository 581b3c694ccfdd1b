// The one module that maps meshward's own replies (data path): gRPC trailers-only answers,
// trailers for a call whose response already began, plain HTTP errors and GraphQL error
// bodies — written through the call's exchange, whatever the transport. Callers get the
// generic message of the code; details stay in logs, audit and spans.

import { wireReplies, type RejectCode } from './codes.js';
import type { Exchange } from './exchange.js';
import type { Rejection, ReplyHeaders } from './filter.js';

/** Percent-encodes a grpc-message value as the gRPC HTTP/2 protocol requires. */
export function encodeGrpcMessage(message: string): string {
  let simple = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      simple = false;
      break;
    }
  }
  if (simple) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? '%' + byte.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(byte);
  }
  return out;
}

/** Trailers carrying a gRPC status, for a call whose response headers were already sent. */
export function grpcStatusTrailers(code: RejectCode, extra?: ReplyHeaders): Record<string, string> {
  const wire = wireReplies[code];
  return { ...extra, 'grpc-status': String(wire.grpcStatus ?? 13), 'grpc-message': encodeGrpcMessage(wire.message) };
}

/** How the caller of a protocol is answered. */
export type ReplyProtocol = 'grpc' | 'graphql';

/** The pipeline's one entry: a refusal as the call's protocol answers it. */
export function reply(exchange: Exchange, protocol: ReplyProtocol, rejection: Rejection): void {
  if (protocol === 'graphql') replyGraphql(exchange, rejection);
  else replyGrpc(exchange, rejection);
}

/**
 * Answers a gRPC call that meshward itself refuses. Always HTTP 200 with grpc-status
 * (trailers-only), except for codes that have no gRPC form (415).
 */
export function replyGrpc(exchange: Exchange, rejection: Rejection): void {
  const wire = wireReplies[rejection.code];
  if (wire.grpcStatus === undefined) return replyHttp(exchange, rejection.code, rejection.replyHeaders);
  if (!writable(exchange)) return;
  exchange.respond(
    200,
    { ...rejection.replyHeaders, 'content-type': 'application/grpc', 'grpc-status': String(wire.grpcStatus), 'grpc-message': encodeGrpcMessage(wire.message) },
    undefined,
  );
}

/** Plain HTTP error reply with a short text body; `extra` headers (e.g. retry-after) are sent with it. */
export function replyHttp(exchange: Exchange, code: RejectCode, extra?: ReplyHeaders): void {
  if (!writable(exchange)) return;
  const wire = wireReplies[code];
  exchange.respond(wire.httpStatus, { ...extra, 'content-type': 'text/plain; charset=utf-8' }, wire.message + '\n');
}

/** A GraphQL refusal as GraphQL over HTTP answers it (graphqlReply below). */
export function replyGraphql(exchange: Exchange, rejection: Rejection): void {
  if (!writable(exchange)) return;
  const r = graphqlReply(rejection, exchange.headers.get('accept'));
  exchange.respond(r.status, r.headers, r.body);
}

/**
 * Whether a reply can still be written. Once headers went out (e.g. the app failed mid-call)
 * the exchange is reset instead, so the caller sees the call fail rather than a truncated success.
 */
function writable(exchange: Exchange): boolean {
  if (exchange.closed) return false;
  if (!exchange.responded) return true;
  exchange.reset();
  return false;
}

/** A GraphQL-over-HTTP error reply, ready to send. */
export interface GraphqlReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json';

/** Refusals of a well-formed GraphQL-over-HTTP request's document: parse, validation, limits. */
const DOCUMENT_REFUSALS: ReadonlySet<RejectCode> = new Set<RejectCode>(['GRAPHQL_INVALID', 'GRAPHQL_VALIDATION', 'GRAPHQL_LIMIT']);

/** The HTTP status of meshward's reply to a refused GraphQL request (see graphqlReply). */
export function graphqlStatus(code: RejectCode, accept: string | undefined): number {
  const graphqlResponse = accept !== undefined && accept.includes(GRAPHQL_RESPONSE_TYPE);
  return !graphqlResponse && DOCUMENT_REFUSALS.has(code) ? 200 : wireReplies[code].httpStatus;
}

/**
 * The reply to a GraphQL request meshward refuses: a GraphQL response with one error whose
 * `extensions.code` is stable (DESIGN §5) and whose message is generic — never the query, the
 * rule or a "did you mean" hint. Media type: the GraphQL response type when the caller accepts
 * it, else application/json. Status: the code's, except that a document refused for parsing,
 * validation or a limit is 200 under application/json, as GraphQL over HTTP says (the errors
 * are the response; 400 only with application/graphql-response+json).
 */
export function graphqlReply(rejection: Rejection, accept: string | undefined): GraphqlReply {
  const wire = wireReplies[rejection.code];
  const extensions = rejection.graphqlExtensions ?? { code: wire.graphqlCode };
  const body = JSON.stringify({ errors: [{ message: rejection.graphqlMessage ?? wire.message, extensions }] });
  const graphqlResponse = accept !== undefined && accept.includes(GRAPHQL_RESPONSE_TYPE);
  const headers: Record<string, string> = {
    'content-type': graphqlResponse ? `${GRAPHQL_RESPONSE_TYPE}; charset=utf-8` : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  };
  const status = graphqlStatus(rejection.code, accept);
  if (rejection.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(rejection.retryAfterMs / 1000)));
  if (rejection.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
  if (rejection.code === 'METHOD_NOT_ALLOWED') headers.allow = 'GET, POST';
  return { status, headers, body };
}
