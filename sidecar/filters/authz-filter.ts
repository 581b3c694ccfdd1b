// Authorization filter (data path): one decision from the call's snapshot — the gRPC method's
// rule, or the GraphQL endpoint's. Denials carry the rule and, for the audit log, the failed
// condition (computed only on the deny path). `inbound.allowAnyAuthenticated` relaxes default
// deny — and only default deny, and only for gRPC methods — for authenticated callers; it is
// logged at startup and shown in /config.

import { reject, type FilterResult } from '../core/filter.js';
import { denyCode } from '../policy/deny-code.js';
import { decideRule } from '../policy/evaluate.js';
import { callFacts, type Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

export { callFacts } from '../pipeline/call.js';
export { denyCode } from '../policy/deny-code.js';

export interface AuthzOptions {
  /** gRPC: a call no rule matches is allowed for any verified SPIFFE ID (a relaxed default). */
  readonly allowAnyAuthenticated: boolean;
}

export function authzFilter(opts: AuthzOptions): CallFilter {
  const { allowAnyAuthenticated } = opts;
  return {
    name: 'authz',
    apply(call: Call): FilterResult {
      const snapshot = call.snapshot.policy;
      const facts = callFacts(call);
      call.policyVersion = snapshot.version;
      if (call.protocol === 'graphql') {
        // The endpoint's rule, found by the GraphQL endpoint filter; none = default deny.
        const decision = decideRule(call.graphqlRule?.access, facts);
        call.decision = decision;
        if (decision.decision !== 'deny') return undefined;
        return reject(denyCode(decision), decision.reason, `GraphQL endpoint ${call.path}: ${decision.reason}`, decision.rule);
      }
      const decision = snapshot.decide(facts);
      call.decision = decision;
      if (decision.decision !== 'deny') {
        // allow, or audit_deny (recorded by the observers). The rule's timeout bounds the deadline.
        const limit = decision.rules?.timeoutMs;
        if (limit !== undefined && limit < call.timeoutMs) call.timeoutMs = limit;
        return undefined;
      }
      if (decision.reason === 'default_deny' && allowAnyAuthenticated && call.peer.authenticated) return undefined;
      return reject(denyCode(decision), decision.reason, snapshot.explain(facts).summary, decision.rule);
    },
  };
}
