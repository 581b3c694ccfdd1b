// Test and benchmark support for telemetry (not used by the sidecar): a CallContext over a
// stub stream, run through a real compiled policy, and outcomes without a socket.

import type { ServerHttp2Stream } from 'node:http2';
import type { CallContext, Rejection } from '../core/filter.js';
import type { CallOutcome, CallObserver } from '../core/observer.js';
import { parseGrpcPath } from '../grpc/path.js';
import { compilePolicies } from '../policy/compile.js';
import { parsePolicySources } from '../policy/load.js';
import type { PolicySnapshot } from '../policy/model.js';

export const FRONTEND = 'spiffe://cluster.local/ns/web/sa/frontend';

/** Compiles policy YAML text into a snapshot (throws on problems). */
export function snapshotOf(text: string): PolicySnapshot {
  const loaded = parsePolicySources([{ file: 'test.yaml', text }], { providers: ['corp'] });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return compilePolicies(loaded);
}

/** A fresh context as the pipeline makes it, before any filter ran. */
export function fakeCall(path: string, headers: Record<string, string> = {}, principal: string | undefined = FRONTEND): CallContext {
  return {
    protocol: 'grpc',
    stream: {} as ServerHttp2Stream,
    headers: { ':path': path, ...headers },
    rawHeaders: [],
    peer: principal === undefined ? { authenticated: false, transport: 'plaintext' } : { authenticated: true, transport: 'mtls', spiffeId: principal },
    startedAt: performance.now(),
    path,
    method: undefined,
    timeoutMs: 5000,
    jwt: undefined,
    decision: undefined,
    policyVersion: undefined,
    trace: undefined,
    rejection: undefined,
  };
}

/** What the gRPC request filter and authz do to the context; returns the rejection, if any. */
export function decide(ctx: CallContext, snapshot: PolicySnapshot): Rejection | undefined {
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
export function runCall(observers: readonly CallObserver[], ctx: CallContext, snapshot: PolicySnapshot, out: (r: Rejection | undefined) => CallOutcome): Rejection | undefined {
  for (const o of observers) o.started?.(ctx);
  const rejection = decide(ctx, snapshot);
  ctx.rejection = rejection;
  for (const o of observers) o.decided?.(ctx, rejection);
  const result = out(rejection);
  for (const o of observers) o.ended?.(ctx, result);
  return rejection;
}
