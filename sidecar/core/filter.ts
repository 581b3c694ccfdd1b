// The filter contract of the request path (DESIGN §7, STYLE "The request path").
// A filter reads the call context and returns undefined (continue) or a Rejection.

import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Transform } from 'node:stream';
import type { PeerIdentity } from '../identity/peer-identity.js';
import type { GrpcMethod } from '../grpc/path.js';
import type { RejectCode } from './codes.js';
import type { VerifiedJwt } from '../authn/verified-jwt.js';
import type { Decision } from '../policy/model.js';

export interface Rejection {
  readonly code: RejectCode;
  /** Machine-readable reason for metrics and the audit log, e.g. "default_deny". */
  readonly reason: string;
  /** The rule that decided, when one did. */
  readonly rule?: string;
  /** Human detail for logs and spans; never sent to the caller. */
  readonly detail?: string;
  /**
   * Extra headers of meshward's reply: metadata in the gRPC trailers-only answer (e.g.
   * `grpc-status-details-bin`), or HTTP headers (e.g. `retry-after`). Built once, not per call.
   */
  readonly replyHeaders?: Readonly<OutgoingHttpHeaders>;
  /**
   * GraphQL replies: `extensions` of the error (DESIGN §5), e.g. `{ code: 'MAX_DEPTH_LIMIT',
   * limit: 8, actual: 12 }`; without it the reply's code is derived from `code`.
   */
  readonly graphqlExtensions?: Readonly<Record<string, string | number>>;
  /** When a refused caller may try again (rate limits, cost budgets): `Retry-After` of HTTP replies. */
  readonly retryAfterMs?: number;
  /** GraphQL replies: a short message for the caller instead of the code's generic one (never the query). */
  readonly graphqlMessage?: string;
  /** Message validation: the ids of the constraints a request message broke (the audit record lists them). */
  readonly constraints?: readonly string[];
}

/** A synchronous look at each request chunk before it is forwarded; a Rejection ends the call. */
export interface ChunkGuard {
  check(chunk: Buffer): Rejection | undefined;
}

/**
 * Holds each request message until it is complete and checked (message validation, DESIGN §9).
 * Transport-neutral: request bytes in as they arrive, checked messages' original bytes out.
 */
export interface MessageGuard {
  /** Whether the forward waits for the first message to pass before the app sees the call (not for bidi streams). */
  readonly holdFirst: boolean;
  /** Request messages that passed so far. */
  readonly passed: number;
  /** Takes request bytes; hands each complete message that passed to `release`; a Rejection ends the call. */
  push(chunk: Buffer, release: (message: Buffer) => void): Rejection | undefined;
  /** The caller finished sending: a message left incomplete is a refusal (an audit rule releases its bytes). */
  end(release: (bytes: Buffer) => void): Rejection | undefined;
}

/** What every call has, whatever its protocol: what identity, authn, authz and the observers read. */
export interface CallInfo {
  readonly protocol: 'grpc' | 'graphql';
  readonly headers: IncomingHttpHeaders;
  /** Name/value pairs as received (duplicates kept), for checks the headers object hides. */
  readonly rawHeaders: readonly string[];
  readonly peer: PeerIdentity;
  /** performance.now() when the stream arrived. */
  readonly startedAt: number;
  /** The raw :path as received (GraphQL: without the query string). */
  readonly path: string;
  /** GraphQL over HTTP: the request method (GET, POST, ...); gRPC calls are always POST. */
  readonly httpMethod?: string | undefined;
  /** Set by the gRPC request filter once the path is known to be canonical. */
  method: GrpcMethod | undefined;
  /** Effective deadline in ms from start (caller's grpc-timeout capped by config), set by the gRPC filter. */
  timeoutMs: number;
  /** Set by the JWT authn filter when a valid bearer token was presented. */
  jwt: VerifiedJwt | undefined;
  /** Set by authz: the policy decision and the snapshot version it came from. */
  decision: Decision | undefined;
  policyVersion: string | undefined;
  /** Set by the tracing observer when tracing is on (telemetry/trace-observer.ts). */
  trace?: CallTrace | undefined;
  /** Set by the pipeline once the chain has run: the refusal, or undefined (forwarded). */
  rejection?: Rejection | undefined;
  /** A limit in audit mode that would have refused this call: it goes on, and the audit log records this. */
  auditedLimit?: Rejection | undefined;
  /** Set by the forwarder when meshward ends a call it had already forwarded (requestGuard refused a message). */
  lateRejection?: Rejection | undefined;
  /** A request message check in audit mode that would have refused the call (it went on); recorded when the call ends. */
  auditedMessage?: Rejection | undefined;
  /** GraphQL calls: the operation(s), once analyzed (graphql/graphql-guard.ts). */
  graphql?: GraphqlCallInfo | undefined;
}

/** What the GraphQL guard learned about a call: spans, metrics and the audit log show it. */
export interface GraphqlCallInfo {
  /** query | mutation | subscription; of the first operation of a batch. */
  readonly operationType: string | undefined;
  readonly operationName: string | undefined;
  /** Summed over a batch. */
  readonly cost: number | undefined;
  /** 1 unless the request was a batch. */
  readonly operations: number;
  /** The field coordinates ("Type.field" → first response path) of each operation analyzed so far (the API catalog counts them). */
  readonly fieldSets?: ReadonlyMap<string, string>[];
}

/** Per-call state of a gRPC call. Created once per stream; filters may fill the mutable fields. */
export interface CallContext extends CallInfo {
  readonly stream: ServerHttp2Stream;
  /** Set by the limits filter (ratelimit/): checks request chunks before the forwarder writes them (maxMessageBytes). */
  requestGuard?: ChunkGuard | undefined;
  /** Set by the validation filter (validation/): request messages pass through it on their way to the app. */
  messageGuard?: MessageGuard | undefined;
  /** Set by filters that shape the bytes (bandwidth): the forwarder pipes caller → these → app, in order. */
  requestTransforms?: readonly Transform[] | undefined;
  /** As requestTransforms, for app → caller. */
  responseTransforms?: readonly Transform[] | undefined;
}

/** The call's place in a distributed trace, as the audit log and the forwarder need it. */
export interface CallTrace {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** meshward's own span for the call (16 hex digits); recorded only when `sampled`. */
  readonly spanId: string;
  readonly sampled: boolean;
  /**
   * Trace headers for the request to the app, replacing the caller's of the same name
   * (a new `traceparent` naming meshward's span as the parent); undefined = remove it.
   */
  readonly appHeaders: Readonly<Record<string, string | undefined>>;
}

export type FilterResult = Rejection | undefined;

/** A step of a listener's chain. Filters that read only CallInfo serve gRPC and GraphQL calls alike. */
export interface Filter<C extends CallInfo = CallContext> {
  readonly name: string;
  apply(ctx: C): FilterResult | Promise<FilterResult>;
}

export function reject(code: RejectCode, reason: string, detail?: string, rule?: string): Rejection {
  return { code, reason, detail, rule };
}
