// Test helper (tests and benchmarks; never imported by the sidecar): calls as a pipeline builds
// them, without a transport — headers from name/value pairs, a data snapshot from policy YAML.

import type { CallHeaders } from '../core/exchange.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import { compilePolicies } from '../policy/compile.js';
import { parsePolicySources } from '../policy/load.js';
import type { PolicySnapshot } from '../policy/model.js';
import { LimiterRegistry } from '../ratelimit/limiter-registry.js';
import { Call, releaseAll, type Protocol } from './call.js';
import type { DataSnapshot } from './data-snapshot.js';

/** Request headers from name/value pairs; the lookup keeps the first value of a (lowercased) name, as Node does for most. */
export function headersOf(pairs: readonly string[] | Readonly<Record<string, string>>): CallHeaders {
  const flat = Array.isArray(pairs) ? (pairs as readonly string[]) : Object.entries(pairs).flat();
  const first = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) if (!first.has(flat[i]!.toLowerCase())) first.set(flat[i]!.toLowerCase(), flat[i + 1]!);
  return { get: (name) => first.get(name), pairs: flat };
}

/** Compiles policy YAML text into a snapshot (throws on problems). */
export function policyOf(text: string, providers: readonly string[] | undefined = ['corp']): PolicySnapshot {
  const loaded = parsePolicySources([{ file: 'test.yaml', text }], providers === undefined ? {} : { providers });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return compilePolicies(loaded);
}

/** What the request path reads for `policy`: its limit tables from `registry` (a fresh memory one by default). */
export function dataSnapshotOf(policy: PolicySnapshot, registry?: LimiterRegistry): DataSnapshot {
  const r = registry ?? new LimiterRegistry({ store: undefined, maxKeysPerRule: 100, maxRedisKeysPerRule: 10 });
  return { policy, limits: r.publish(policy), graphql: undefined };
}

export const PLAINTEXT: PeerIdentity = Object.freeze({ authenticated: false, transport: 'plaintext', error: 'plaintext connection' });

export function peerOf(principal: string | undefined): PeerIdentity {
  return principal === undefined ? PLAINTEXT : { authenticated: true, transport: 'mtls', spiffeId: principal };
}

export interface TestCallSpec {
  readonly protocol?: Protocol;
  readonly httpMethod?: string;
  readonly target: string;
  readonly headers?: readonly string[] | Readonly<Record<string, string>>;
  readonly principal?: string | undefined;
  readonly snapshot: DataSnapshot;
  readonly timeoutMs?: number;
}

/** A fresh call, before any filter ran. */
export function testCall(spec: TestCallSpec): Call {
  return new Call(
    spec.protocol ?? 'grpc',
    spec.httpMethod ?? 'POST',
    spec.target,
    headersOf(spec.headers ?? {}),
    peerOf(spec.principal),
    spec.snapshot,
    spec.timeoutMs ?? 5000,
  );
}

/** What the pipeline does when the exchange ends: the call is over, what it held is given back. */
export function endCall(call: Call): void {
  call.ended = true;
  releaseAll(call);
}
