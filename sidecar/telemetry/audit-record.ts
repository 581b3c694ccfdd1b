// The audit observer (data path): one record per refused call and per audit_deny (a policy
// or a limit in audit mode that would have refused).

import { wireReplies } from '../core/codes.js';
import { graphqlStatus } from '../core/reply.js';
import type { CallInfo, GraphqlCallInfo, Rejection } from '../core/filter.js';
import type { CallObserver } from '../core/observer.js';
import { callFacts } from '../policy/authz-filter.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { AuditRecord, AuditSink } from './audit-log.js';

export function auditObserver(audit: AuditSink, policies: PolicyStore): CallObserver {
  return {
    decided(ctx, rejection) {
      if (rejection !== undefined) audit.write(refusalRecord(ctx, rejection));
      else if (ctx.decision?.decision === 'audit_deny') {
        // gRPC: explain says which condition failed; a GraphQL endpoint decision carries its reason.
        const detail = ctx.protocol === 'grpc' ? policies.current.explain(callFacts(ctx)).summary : `GraphQL endpoint ${ctx.path}: ${ctx.decision.reason}`;
        audit.write(auditDenyRecord(ctx, detail));
      }
      if (rejection === undefined && ctx.auditedLimit !== undefined) audit.write(auditedLimitRecord(ctx, ctx.auditedLimit));
    },
    ended(ctx) {
      // Refused after the forward began (a message over maxMessageBytes, or one that failed
      // message validation): recorded now.
      if (ctx.lateRejection !== undefined) audit.write(refusalRecord(ctx, ctx.lateRejection));
      // A request message an audit-mode validation rule would have refused (it went on).
      else if (ctx.auditedMessage !== undefined) audit.write(auditedLimitRecord(ctx, ctx.auditedMessage));
    },
  };
}

/** The record of a call a limit in audit mode would have refused (it goes through). */
export function auditedLimitRecord(ctx: CallInfo, wouldRefuse: Rejection): AuditRecord {
  return record(ctx, 'audit_deny', wouldRefuse.reason, wouldRefuse.rule, 0, wouldRefuse.detail, wouldRefuse.constraints);
}

/** The record of a refused call: the status the caller saw (HTTP for GraphQL, gRPC where there is one). */
export function refusalRecord(ctx: CallInfo, rejection: Rejection): AuditRecord {
  const wire = wireReplies[rejection.code];
  const status = ctx.protocol === 'graphql' ? graphqlStatus(rejection.code, ctx.headers.accept) : wire.grpcStatus ?? wire.httpStatus;
  return record(ctx, 'deny', rejection.reason, rejection.rule, status, rejection.detail, rejection.constraints);
}

/** The record of a call an audit-mode policy would have denied (it goes through). */
export function auditDenyRecord(ctx: CallInfo, detail: string | undefined): AuditRecord {
  const d = ctx.decision!;
  return record(ctx, 'audit_deny', d.reason, d.rule, 0, detail);
}

function record(
  ctx: CallInfo,
  decision: AuditRecord['decision'],
  reason: string,
  rule: string | undefined,
  status: number,
  detail: string | undefined,
  constraints?: readonly string[],
): AuditRecord {
  return {
    time: new Date().toISOString(),
    decision,
    reason,
    rule: rule ?? null,
    policy_version: ctx.policyVersion ?? null,
    protocol: ctx.protocol,
    method: ctx.method?.fullName ?? ctx.path.slice(0, 256),
    principal: ctx.peer.spiffeId ?? null,
    subject: ctx.jwt?.subject ?? null,
    status,
    // meshward's span for the call; it is in the trace store when the call was sampled.
    trace_id: ctx.trace?.traceId ?? null,
    span_id: ctx.trace?.spanId ?? null,
    duration_ms: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
    ...(detail === undefined ? {} : { detail }),
    ...(ctx.graphql === undefined ? {} : { graphql: graphqlFields(ctx.graphql) }),
    ...(constraints === undefined ? {} : { constraints }),
  };
}

function graphqlFields(g: GraphqlCallInfo): NonNullable<AuditRecord['graphql']> {
  return {
    operation_type: g.operationType ?? null,
    operation_name: g.operationName === undefined ? null : g.operationName.slice(0, 128),
    cost: g.cost ?? null,
    operations: g.operations,
  };
}
