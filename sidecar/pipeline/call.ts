// One call on its way through a pipeline (data path): what it is — protocol, method or
// GraphQL endpoint, headers, peer, deadline, the snapshot read once — and what its filters
// learned about it. Transport-neutral: the bytes stay with the exchange (core/exchange.ts);
// a call only carries the hooks the relay must honour (core/body-hooks.ts). Plain data: the
// functions below work on it.

import type { VerifiedJwt } from '../authn/verified-jwt.js';
import type { ChunkGuard, MessageGuard, Pacer } from '../core/body-hooks.js';
import type { BodyRead, CallHeaders } from '../core/exchange.js';
import type { Rejection } from '../core/filter.js';
import { targetPath, type OperationRequest } from '../graphql/graphql-request.js';
import type { GrpcMethod } from '../grpc/path.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import type { CallFacts, CompiledGraphqlRule, Decision } from '../policy/model.js';
import type { DataSnapshot } from './data-snapshot.js';

export type Protocol = 'grpc' | 'graphql';

/** The call's place in a distributed trace, as the audit log and the forwarders need it. */
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

/** What the GraphQL filters learned about a call: spans, metrics and the audit log show it. */
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

/** Something a call holds until its exchange ends (a concurrency slot, a place in a queue). */
export interface Held {
  release(): void;
}

export class Call {
  // ---- what the call is (set when it arrives) ----
  /** performance.now() when the call arrived. */
  readonly startedAt = performance.now();
  /** The request path: the raw `:path` of a gRPC call; the target without its query for GraphQL. */
  readonly path: string;
  /** Effective deadline in ms from `startedAt`: the caller's grpc-timeout capped (gRPC request filter), a rule's timeout (authz). */
  timeoutMs: number;

  // ---- what the filters learned ----
  /** gRPC: set by the gRPC request filter once the path is known to be canonical. */
  method: GrpcMethod | undefined = undefined;
  /** Set by the JWT authn filter when a valid bearer token was presented. */
  jwt: VerifiedJwt | undefined = undefined;
  /** Set by authz: the policy decision, and the version of the snapshot it came from. */
  decision: Decision | undefined = undefined;
  policyVersion: string | undefined = undefined;
  /** Set by the tracing observer when tracing is on (telemetry/trace-observer.ts). */
  trace: CallTrace | undefined = undefined;
  /** Set by the pipeline once the chain has run: the refusal, or undefined (forwarded). */
  rejection: Rejection | undefined = undefined;
  /** A limit in audit mode that would have refused this call: it goes on, and the audit log records this. */
  auditedLimit: Rejection | undefined = undefined;
  /** Set by the forwarder when meshward ends a call it had already forwarded (a body hook refused). */
  lateRejection: Rejection | undefined = undefined;
  /** A request message check in audit mode that would have refused the call (it went on); recorded when the call ends. */
  auditedMessage: Rejection | undefined = undefined;

  // ---- GraphQL ----
  /** The endpoint's combined rule, found by the endpoint filter (undefined: no policy names it). */
  graphqlRule: CompiledGraphqlRule | undefined = undefined;
  /** The request body, read by the pipeline before the body phase (undefined: none was read). */
  body: Exclude<BodyRead, 'aborted'> | undefined = undefined;
  /** The operations of the request (one, or a batch), read by the request filter. */
  operations: readonly OperationRequest[] | undefined = undefined;
  /** The operation(s), once analyzed. */
  graphql: GraphqlCallInfo | undefined = undefined;

  // ---- what the relay of a streamed body must honour (core/body-hooks.ts) ----
  /** Every request chunk, before it is relayed (maxMessageBytes). */
  requestGuard: ChunkGuard | undefined = undefined;
  /** Every request message, held until complete and checked (message validation; it bounds the size itself). */
  messageGuard: MessageGuard | undefined = undefined;
  /** caller → app and app → caller pacing (bandwidth), in order. */
  requestPacers: Pacer[] | undefined = undefined;
  responsePacers: Pacer[] | undefined = undefined;

  // ---- held until the exchange ends ----
  held: Held[] | undefined = undefined;
  /** The exchange is over; nothing more will be taken for this call. */
  ended = false;

  constructor(
    readonly protocol: Protocol,
    /** `:method` / the HTTP method. */
    readonly httpMethod: string,
    /** The request target as received (path and query). */
    readonly target: string,
    readonly headers: CallHeaders,
    readonly peer: PeerIdentity,
    /** The snapshot read once for this call; filters and observers use only this one. */
    readonly snapshot: DataSnapshot,
    /** The deadline until a filter knows better (the listener's maxTimeout). */
    timeoutMs: number,
  ) {
    this.path = protocol === 'graphql' ? targetPath(target) : target;
    this.timeoutMs = timeoutMs;
  }

}

/** Keeps `held` until the call ends; released at once if it already has. */
export function hold(call: Call, held: Held): void {
  if (call.ended) return held.release();
  (call.held ??= []).push(held);
}

/** Gives back everything the call holds (the pipeline does when the exchange ends). */
export function releaseAll(call: Call): void {
  const held = call.held;
  if (held === undefined) return;
  call.held = undefined;
  for (const h of held) h.release();
}

/**
 * What authorization knows about a call: the gRPC method once the request filter accepted it
 * (else the raw path), or `graphql:<endpoint path>` for a GraphQL call.
 */
export function callFacts(call: Call): CallFacts {
  return {
    method: call.protocol === 'graphql' ? `graphql:${call.path}` : (call.method?.fullName ?? call.path),
    principal: call.peer.authenticated ? call.peer.spiffeId : undefined,
    jwt: call.jwt,
  };
}
