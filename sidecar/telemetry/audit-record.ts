// The audit observer (data path): one record per refused call and per audit_deny.

import { wireReplies } from '../core/codes.js';
import type { CallContext, Rejection } from '../core/filter.js';
import type { CallObserver } from '../core/observer.js';
import { callFacts } from '../policy/authz-filter.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { AuditRecord, AuditSink } from './audit-log.js';

export function auditObserver(audit: AuditSink, policies: PolicyStore): CallObserver {
  return {
    decided(ctx, rejection) {
      if (rejection !== undefined) audit.write(refusalRecord(ctx, rejection));
      else if (ctx.decision?.decision === 'audit_deny') {
        audit.write(auditDenyRecord(ctx, policies.current.explain(callFacts(ctx)).summary));
      }
    },
  };
}

/** The record of a refused call. */
export function refusalRecord(ctx: CallContext, rejection: Rejection): AuditRecord {
  const wire = wireReplies[rejection.code];
  return record(ctx, 'deny', rejection.reason, rejection.rule, wire.grpcStatus ?? wire.httpStatus, rejection.detail);
}

/** The record of a call an audit-mode policy would have denied (it goes through). */
export function auditDenyRecord(ctx: CallContext, detail: string | undefined): AuditRecord {
  const d = ctx.decision!;
  return record(ctx, 'audit_deny', d.reason, d.rule, 0, detail);
}

function record(
  ctx: CallContext,
  decision: AuditRecord['decision'],
  reason: string,
  rule: string | undefined,
  status: number,
  detail: string | undefined,
): AuditRecord {
  return {
    time: new Date().toISOString(),
    decision,
    reason,
    rule: rule ?? null,
    policy_version: ctx.policyVersion ?? null,
    protocol: 'grpc',
    method: ctx.method?.fullName ?? ctx.path.slice(0, 256),
    principal: ctx.peer.spiffeId ?? null,
    subject: ctx.jwt?.subject ?? null,
    status,
    trace_id: null,
    span_id: null,
    duration_ms: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
    ...(detail === undefined ? {} : { detail }),
  };
}
