// Test helper for telemetry (tests and benchmarks; never imported by the sidecar): calls run
// through a real compiled policy and the observers, with outcomes and no socket.

import type { Rejection } from '../core/filter.js';
import { parseGrpcPath } from '../grpc/path.js';
import type { PolicySnapshot } from '../policy/model.js';
import type { Call } from '../pipeline/call.js';
import { dataSnapshotOf, policyOf, testCall } from '../pipeline/call.test-helper.js';
import type { CallObserver, CallOutcome } from '../pipeline/observers.js';

export const FRONTEND = 'spiffe://cluster.local/ns/web/sa/frontend';

const EMPTY = policyOf('apiVersion: meshward.dev/v1alpha1\nkind: Policy\nmetadata: { name: empty }\nspec: {}\n');

/** Compiles policy YAML text into a snapshot (throws on problems). */
export function snapshotOf(text: string): PolicySnapshot {
  return policyOf(text);
}

/** A fresh call as the pipeline makes it, before any filter ran (its snapshot is set by `decide`). */
export function fakeCall(path: string, headers: Record<string, string> = {}, principal: string | undefined = FRONTEND): Call {
  return testCall({ target: path, headers: { ':path': path, ...headers }, principal, snapshot: dataSnapshotOf(EMPTY) });
}

/**
 * What the gRPC request filter and authz do to the call, deciding with `snapshot` — which
 * becomes the call's snapshot, as if the call had started with it (test only).
 */
export function decide(ctx: Call, snapshot: PolicySnapshot): Rejection | undefined {
  (ctx as { snapshot: unknown }).snapshot = dataSnapshotOf(snapshot);
  ctx.method = parseGrpcPath(ctx.path);
  if (ctx.method === undefined) return { code: 'MALFORMED_PATH', reason: 'malformed_path' };
  const d = snapshot.decide({ method: ctx.method.fullName, principal: ctx.peer.spiffeId, jwt: ctx.jwt });
  ctx.decision = d;
  ctx.policyVersion = snapshot.version;
  if (d.decision !== 'deny') return undefined;
  return { code: d.code === 'UNAUTHENTICATED' ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED', reason: d.reason, rule: d.rule, detail: 'test detail' };
}

export function outcome(grpcStatus: number | undefined, extra: Partial<CallOutcome> = {}): CallOutcome {
  return { grpcStatus, httpStatus: 200, rstCode: undefined, durationMs: 1.5, ...extra };
}

/** Runs a call through observers the way the pipeline does. */
export function runCall(observers: readonly CallObserver[], ctx: Call, snapshot: PolicySnapshot, out: (r: Rejection | undefined) => CallOutcome): Rejection | undefined {
  for (const o of observers) o.started?.(ctx);
  const rejection = decide(ctx, snapshot);
  ctx.rejection = rejection;
  for (const o of observers) o.decided?.(ctx, rejection);
  const result = out(rejection);
  for (const o of observers) o.ended?.(ctx, result);
  return rejection;
}
