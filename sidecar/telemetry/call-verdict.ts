// The decision, reason and rule of one call, as metrics, spans and the audit log name them
// (DESIGN §6). Data path: allocation-free for allowed calls (the policy's frozen Decision).

import type { Rejection } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';

export interface Verdict {
  readonly decision: 'allow' | 'deny' | 'audit_deny';
  /** `allowed`, a policy reason (`default_deny`, `no_allow_match`…), or a filter's (`jwt_expired`, `malformed_path`…). */
  readonly reason: string;
  readonly rule: string | undefined;
}

/** A call no policy was asked about (a listener without authz). */
const ALLOWED: Verdict = Object.freeze({ decision: 'allow', reason: 'allowed', rule: undefined });
/** Default deny relaxed by `inbound.allowAnyAuthenticated` (a relaxed default, DESIGN §4). */
const RELAXED: Verdict = Object.freeze({ decision: 'allow', reason: 'allow_any_authenticated', rule: undefined });

export function verdictOf(ctx: Call, rejection: Rejection | undefined): Verdict {
  if (rejection !== undefined) return { decision: 'deny', reason: rejection.reason, rule: rejection.rule };
  const d = ctx.decision;
  if (d === undefined) return ALLOWED;
  return d.decision === 'deny' ? RELAXED : d;
}
