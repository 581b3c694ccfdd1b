// Authorization filter (DATA path): one read of the current policy snapshot, one
// decision. Denials carry the rule and, for the audit log, the failed condition (computed
// only on the deny path). `inbound.allowAnyAuthenticated` relaxes default deny — and only
// default deny — for authenticated callers; it is logged at startup and shown in /config.

import { RejectCode } from '../core/codes.js';
import { reject, type CallContext, type CallInfo, type Filter, type FilterResult } from '../core/filter.js';
import type { CallFacts, Decision } from './model.js';
import type { PolicyStore } from './policy-store.js';

/** What authorization knows about a call: a gRPC call that passed the gRPC request filter, or a GraphQL call (its path). */
export function callFacts(ctx: CallInfo): CallFacts {
  return {
    method: ctx.method?.fullName ?? ctx.path,
    principal: ctx.peer.authenticated ? ctx.peer.spiffeId : undefined,
    jwt: ctx.jwt,
  };
}

/** The refusal code of a deny decision: 16 when only a JWT is missing, else 7 (DESIGN §5). */
export function denyCode(decision: Decision): RejectCode {
  return decision.code === 'UNAUTHENTICATED' ? RejectCode.UNAUTHENTICATED : RejectCode.PERMISSION_DENIED;
}

export function authzFilter(store: PolicyStore, allowAnyAuthenticated: boolean): Filter {
  return {
    name: 'authz',
    apply(ctx: CallContext): FilterResult {
      const snapshot = store.current;
      const facts = callFacts(ctx);
      const decision = snapshot.decide(facts);
      ctx.policyVersion = snapshot.version;
      ctx.decision = decision;
      if (decision.decision !== 'deny') {
        // allow, or audit_deny (recorded by the pipeline). The rule's timeout bounds the deadline.
        const limit = decision.rules?.timeoutMs;
        if (limit !== undefined && limit < ctx.timeoutMs) ctx.timeoutMs = limit;
        return undefined;
      }
      if (decision.reason === 'default_deny' && allowAnyAuthenticated && ctx.peer.authenticated) return undefined;
      return reject(denyCode(decision), decision.reason, snapshot.explain(facts).summary, decision.rule);
    },
  };
}
