// The one module that writes meshward's own replies (data path): gRPC trailers-only
// answers, trailers for a call that already has response headers, and plain HTTP errors.
// Callers get the generic message of the code; details stay in logs, audit and spans.

import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { wireReplies, type RejectCode } from './codes.js';
import type { Rejection } from './filter.js';

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
export function grpcStatusTrailers(code: RejectCode, extra?: Readonly<OutgoingHttpHeaders>): OutgoingHttpHeaders {
  const wire = wireReplies[code];
  return { ...extra, 'grpc-status': String(wire.grpcStatus ?? 13), 'grpc-message': encodeGrpcMessage(wire.message) };
}

/**
 * Answers a gRPC call that meshward itself refuses. Always HTTP 200 with grpc-status
 * (trailers-only), except for codes that have no gRPC form (415).
 */
export function replyGrpc(stream: ServerHttp2Stream, rejection: Rejection): void {
  const wire = wireReplies[rejection.code];
  if (wire.grpcStatus === undefined) return replyHttp(stream, rejection.code, rejection.replyHeaders);
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    // Headers already went out (e.g. the app failed mid-call): finish with an RST so the
    // caller sees the call fail rather than a truncated success.
    stream.close(0x2 /* INTERNAL_ERROR */);
    return;
  }
  stream.respond(
    {
      ...rejection.replyHeaders,
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(wire.grpcStatus),
      'grpc-message': encodeGrpcMessage(wire.message),
    },
    { endStream: true },
  );
  discardRequestBody(stream);
}

/** Plain HTTP error reply with a short text body; `extra` headers (e.g. retry-after) are sent with it. */
export function replyHttp(stream: ServerHttp2Stream, code: RejectCode, extra?: Readonly<OutgoingHttpHeaders>): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(0x2 /* INTERNAL_ERROR */);
    return;
  }
  const wire = wireReplies[code];
  stream.respond({ ...extra, ':status': wire.httpStatus, 'content-type': 'text/plain; charset=utf-8' });
  stream.end(wire.message + '\n');
  discardRequestBody(stream);
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
    if (!stream.closed && !stream.readableEnded) stream.close(0 /* NO_ERROR */);
  }, DISCARD_GRACE_MS);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
}

/** A GraphQL-over-HTTP error reply, ready to send. */
export interface GraphqlReply {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
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
  const headers: OutgoingHttpHeaders = {
    'content-type': graphqlResponse ? `${GRAPHQL_RESPONSE_TYPE}; charset=utf-8` : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  };
  const status = graphqlStatus(rejection.code, accept);
  if (rejection.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(rejection.retryAfterMs / 1000)));
  if (rejection.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
  if (rejection.code === 'METHOD_NOT_ALLOWED') headers.allow = 'GET, POST';
  return { status, headers, body };
}
