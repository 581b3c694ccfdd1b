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
  /** A request message over `maxMessageBytes` (ratelimit/frame-size-guard.ts). */
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  /** The shared limit store (Redis) did not answer in time and `failMode` is closed. */
  LIMIT_STORE_UNAVAILABLE: 'LIMIT_STORE_UNAVAILABLE',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  NO_ROUTE: 'NO_ROUTE',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  INTERNAL: 'INTERNAL',
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
}

export const wireReplies: Readonly<Record<RejectCode, WireReply>> = Object.freeze({
  UNAUTHENTICATED: { grpcStatus: GrpcStatus.UNAUTHENTICATED, httpStatus: 401, message: 'unauthenticated' },
  PERMISSION_DENIED: { grpcStatus: GrpcStatus.PERMISSION_DENIED, httpStatus: 403, message: 'permission denied' },
  MALFORMED_PATH: { grpcStatus: GrpcStatus.PERMISSION_DENIED, httpStatus: 400, message: 'malformed method path' },
  UNSUPPORTED_MEDIA_TYPE: { grpcStatus: undefined, httpStatus: 415, message: 'unsupported media type' },
  HEADERS_TOO_LARGE: { grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED, httpStatus: 431, message: 'request headers too large' },
  RATE_LIMITED: { grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED, httpStatus: 429, message: 'rate limit exceeded' },
  MESSAGE_TOO_LARGE: { grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED, httpStatus: 413, message: 'message too large' },
  LIMIT_STORE_UNAVAILABLE: { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503, message: 'rate limit store unavailable' },
  UPSTREAM_UNAVAILABLE: { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503, message: 'upstream unavailable' },
  NO_ROUTE: { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503, message: 'meshward: no outbound route for this authority' },
  DEADLINE_EXCEEDED: { grpcStatus: GrpcStatus.DEADLINE_EXCEEDED, httpStatus: 504, message: 'deadline exceeded' },
  SHUTTING_DOWN: { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503, message: 'shutting down' },
  INTERNAL: { grpcStatus: GrpcStatus.INTERNAL, httpStatus: 500, message: 'internal error' },
});
