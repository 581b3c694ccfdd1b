// Stable rejection codes and how each one looks on the wire (DESIGN §5).
// Shared by every filter (they return a code) and by the one module that writes replies.

export const RejectCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  MALFORMED_PATH: 'MALFORMED_PATH',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  /** A rate or concurrency limit refused the call (ratelimit/). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** A request message over `maxMessageBytes` (the message-size guard, ratelimit/frame-size-guard.ts). */
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  /** The shared limit store (Redis) did not answer in time and `failMode` is closed. */
  LIMIT_STORE_UNAVAILABLE: 'LIMIT_STORE_UNAVAILABLE',
  /** A request message that breaks its protovalidate constraints or does not decode (validation/, DESIGN §9). */
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  NO_ROUTE: 'NO_ROUTE',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  INTERNAL: 'INTERNAL',
  /** A gRPC method not declared in `catalog.protos` (filters/undeclared-filter.ts). */
  UNIMPLEMENTED: 'UNIMPLEMENTED',
  /** GraphQL over HTTP: a request that is not a GraphQL request (JSON, parameters, media type of the body). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** GraphQL: a document that does not parse, or no single operation to run (400). */
  GRAPHQL_INVALID: 'GRAPHQL_INVALID',
  /** GraphQL: a document that parses but fails validation against the schema (400, or 200 for application/json). */
  GRAPHQL_VALIDATION: 'GRAPHQL_VALIDATION',
  /** GraphQL: depth, cost, aliases, root fields, tokens, directives or batch over the bound. */
  GRAPHQL_LIMIT: 'GRAPHQL_LIMIT',
  /** GraphQL over HTTP: a method the endpoint does not serve (a mutation over GET, PUT...). */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** HTTP/1.1 on a path that is not a GraphQL endpoint. */
  NOT_FOUND: 'NOT_FOUND',
} as const;
export type RejectCode = (typeof RejectCode)[keyof typeof RejectCode];

/** gRPC status codes used by meshward (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export interface WireReply {
  /** grpc-status of the trailers-only reply; undefined = not a gRPC answer (plain HTTP status). */
  readonly grpcStatus: number | undefined;
  /** HTTP status for non-gRPC callers (and for gRPC when grpcStatus is undefined). */
  readonly httpStatus: number;
  /** Short, generic text for the caller. Never the rule or the condition. */
  readonly message: string;
  /** `extensions.code` of a GraphQL error reply. */
  readonly graphqlCode: string;
}

export const wireReplies: Readonly<Record<RejectCode, WireReply>> = Object.freeze({
  UNAUTHENTICATED: { grpcStatus: GrpcStatus.UNAUTHENTICATED, httpStatus: 401, message: 'unauthenticated', graphqlCode: 'UNAUTHENTICATED' },
  PERMISSION_DENIED: { grpcStatus: GrpcStatus.PERMISSION_DENIED, httpStatus: 403, message: 'permission denied', graphqlCode: 'FORBIDDEN' },
  MALFORMED_PATH: { grpcStatus: GrpcStatus.PERMISSION_DENIED, httpStatus: 400, message: 'malformed method path', graphqlCode: 'BAD_REQUEST' },
  UNSUPPORTED_MEDIA_TYPE: { grpcStatus: undefined, httpStatus: 415, message: 'unsupported media type', graphqlCode: 'UNSUPPORTED_MEDIA_TYPE' },
  HEADERS_TOO_LARGE: { grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED, httpStatus: 431, message: 'request headers too large', graphqlCode: 'HEADERS_TOO_LARGE' },
  RATE_LIMITED: { grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED, httpStatus: 429, message: 'rate limit exceeded', graphqlCode: 'RATE_LIMITED' },
  MESSAGE_TOO_LARGE: { grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED, httpStatus: 413, message: 'message too large', graphqlCode: 'BODY_TOO_LARGE' },
  INVALID_MESSAGE: { grpcStatus: GrpcStatus.INVALID_ARGUMENT, httpStatus: 400, message: 'invalid request', graphqlCode: 'BAD_REQUEST' },
  LIMIT_STORE_UNAVAILABLE: { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503, message: 'rate limit store unavailable', graphqlCode: 'LIMIT_STORE_UNAVAILABLE' },
  UPSTREAM_UNAVAILABLE: { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503, message: 'upstream unavailable', graphqlCode: 'UPSTREAM_UNAVAILABLE' },
  NO_ROUTE: { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503, message: 'meshward: no outbound route for this authority', graphqlCode: 'NO_ROUTE' },
  DEADLINE_EXCEEDED: { grpcStatus: GrpcStatus.DEADLINE_EXCEEDED, httpStatus: 504, message: 'deadline exceeded', graphqlCode: 'DEADLINE_EXCEEDED' },
  SHUTTING_DOWN: { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503, message: 'shutting down', graphqlCode: 'SHUTTING_DOWN' },
  INTERNAL: { grpcStatus: GrpcStatus.INTERNAL, httpStatus: 500, message: 'internal error', graphqlCode: 'INTERNAL_SERVER_ERROR' },
  UNIMPLEMENTED: { grpcStatus: GrpcStatus.UNIMPLEMENTED, httpStatus: 404, message: 'unimplemented', graphqlCode: 'NOT_FOUND' },
  BAD_REQUEST: { grpcStatus: undefined, httpStatus: 400, message: 'bad request', graphqlCode: 'BAD_REQUEST' },
  GRAPHQL_INVALID: { grpcStatus: undefined, httpStatus: 400, message: 'invalid GraphQL request', graphqlCode: 'GRAPHQL_PARSE_FAILED' },
  GRAPHQL_VALIDATION: { grpcStatus: undefined, httpStatus: 400, message: 'invalid GraphQL document', graphqlCode: 'GRAPHQL_VALIDATION_FAILED' },
  GRAPHQL_LIMIT: { grpcStatus: undefined, httpStatus: 400, message: 'operation exceeds a limit', graphqlCode: 'LIMIT_EXCEEDED' },
  METHOD_NOT_ALLOWED: { grpcStatus: undefined, httpStatus: 405, message: 'method not allowed', graphqlCode: 'METHOD_NOT_ALLOWED' },
  NOT_FOUND: { grpcStatus: undefined, httpStatus: 404, message: 'not found', graphqlCode: 'NOT_FOUND' },
});
