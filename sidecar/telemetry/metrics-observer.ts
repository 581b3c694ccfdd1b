// Counts every call into the DESIGN §6 metrics (data path): the policy decision when the
// chain has run, the request count and duration when the stream closes. A few Map lookups
// and increments per call; no label strings are built.

import type { CallObserver, CallOutcome } from '../core/observer.js';
import { verdictOf } from './call-verdict.js';
import { DURATION_BUCKETS, type MeshwardMetrics } from './meshward-metrics.js';
import { observe } from './metric-family.js';
import type { MethodLabels } from './method-label.js';

export interface MetricsObserverOptions {
  readonly protocol: 'grpc' | 'graphql';
  readonly direction: 'inbound' | 'outbound';
}

// grpc-status values as label strings, made once.
const GRPC_CODES: readonly string[] = Array.from({ length: 17 }, (_, i) => String(i));

/** The `code` label: the grpc-status sent, else `http_<status>` (e.g. 415), else `reset`. */
export function codeLabel(outcome: CallOutcome): string {
  const g = outcome.grpcStatus;
  if (g !== undefined) return GRPC_CODES[g] ?? String(g);
  if (outcome.httpStatus !== undefined && outcome.rstCode === undefined) return `http_${outcome.httpStatus}`;
  return 'reset';
}

export function metricsObserver(metrics: MeshwardMetrics, labels: MethodLabels, opts: MetricsObserverOptions): CallObserver {
  const requests = metrics.requests.with(opts.protocol, opts.direction);
  // The inbound listener also serves GraphQL: its calls are counted under their own protocol.
  const graphqlRequests = opts.protocol === 'graphql' ? requests : metrics.requests.with('graphql', opts.direction);
  const decisions = metrics.decisions.with();
  return {
    decided(ctx, rejection) {
      const v = verdictOf(ctx, rejection);
      decisions.get3(v.decision, v.reason, v.rule ?? '').value++;
    },
    ended(ctx, outcome) {
      const decision = ctx.rejection !== undefined ? 'deny' : ctx.decision?.decision === 'audit_deny' || ctx.auditedMessage !== undefined ? 'audit_deny' : 'allow';
      const cell = (ctx.protocol === 'graphql' ? graphqlRequests : requests).get3(labels.label(ctx, outcome.grpcStatus), codeLabel(outcome), decision);
      observe(cell, DURATION_BUCKETS, outcome.durationMs / 1000);
    },
  };
}

/** The JWT authn filter's result hook: counts meshward_jwt_validations_total. */
export function jwtValidationCounter(metrics: MeshwardMetrics): (provider: string | undefined, result: string) => void {
  return (provider, result) => {
    metrics.jwtValidations.get2(provider ?? '_unknown', result).value++;
  };
}
