// One call as the tap and the dashboard show it (DESIGN §12): built when the call ends, only
// while someone listens (or when the call was refused: the dashboard's recent refusals).
// Data path, but off the common case: the tap hub skips it when nobody subscribes.

import { RejectCode } from '../core/codes.js';
import type { CallInfo, Rejection } from '../core/filter.js';
import type { CallOutcome } from '../core/observer.js';
import { verdictOf } from '../telemetry/call-verdict.js';

/** The JSON of one `/tap` event (also the `meshward tap --json` line). Field names are a contract. */
export interface TapEvent {
  /** When the call ended (ISO 8601, ms). */
  readonly time: string;
  readonly protocol: 'grpc' | 'graphql';
  /** `package.Service/Method`; GraphQL: the endpoint path; a malformed gRPC path: as received (first 256 chars). */
  readonly method: string;
  /** GraphQL: the operation type and name (`query GetOrder`), once analyzed; otherwise null. */
  readonly operation: string | null;
  /** The caller's SPIFFE ID (mTLS), or null for an unauthenticated caller. */
  readonly principal: string | null;
  readonly decision: 'allow' | 'deny' | 'audit_deny';
  /** `allowed`, or the reason of the refusal / audit_deny (as in metrics and the audit log). */
  readonly reason: string;
  /** The policy rule that decided, when one did. */
  readonly rule: string | null;
  /** A limit refused the call (rate, concurrency, message size, GraphQL limits, limit store): the dashboard's "limited". */
  readonly limited: boolean;
  /** gRPC: the grpc-status the caller received; GraphQL: the HTTP status; null if the stream was reset. */
  readonly status: number | null;
  readonly durationMs: number;
  /** meshward's trace id for the call (in Jaeger when sampled), or null when tracing is off. */
  readonly traceId: string | null;
}

const LIMIT_CODES: ReadonlySet<string> = new Set<string>([
  RejectCode.RATE_LIMITED,
  RejectCode.MESSAGE_TOO_LARGE,
  RejectCode.LIMIT_STORE_UNAVAILABLE,
  RejectCode.GRAPHQL_LIMIT,
]);


export function tapEventOf(ctx: CallInfo, outcome: CallOutcome, refusal: Rejection | undefined, nowMs: number = Date.now()): TapEvent {
  const verdict = verdictOf(ctx, refusal);
  const audited = refusal === undefined && verdict.decision === 'allow' ? ctx.auditedLimit : undefined;
  const g = ctx.graphql;
  return {
    time: new Date(nowMs).toISOString(),
    protocol: ctx.protocol,
    method: ctx.protocol === 'grpc' ? (ctx.method?.fullName ?? ctx.path.slice(0, 256)) : ctx.path.slice(0, 256),
    operation: g === undefined ? null : [g.operationType ?? 'operation', g.operationName].filter((s) => s !== undefined).join(' ').slice(0, 160),
    principal: ctx.peer.spiffeId ?? null,
    // A limit in audit mode would have refused: the call went on, as an audit_deny (audit log alike).
    decision: audited !== undefined ? 'audit_deny' : verdict.decision,
    reason: audited !== undefined ? audited.reason : verdict.reason,
    rule: (audited !== undefined ? audited.rule : verdict.rule) ?? null,
    limited: refusal !== undefined && LIMIT_CODES.has(refusal.code),
    status: outcome.rstCode !== undefined ? null : ctx.protocol === 'grpc' ? (outcome.grpcStatus ?? outcome.httpStatus ?? null) : (outcome.httpStatus ?? null),
    durationMs: Math.round(outcome.durationMs * 1000) / 1000,
    traceId: ctx.trace?.traceId ?? null,
  };
}
