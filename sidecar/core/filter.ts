// The filter contract of the request path (DESIGN §7, STYLE "The request path").
// A filter reads the call context and returns undefined (continue) or a Rejection.

import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { PeerIdentity } from '../identity/peer-identity.js';
import type { GrpcMethod } from '../grpc/path.js';
import type { RejectCode } from './codes.js';
import type { VerifiedJwt } from '../authn/verified-jwt.js';
import type { Decision } from '../policy/model.js';

export interface Rejection {
  readonly code: RejectCode;
  /** Machine-readable reason for metrics and the audit log, e.g. "default_deny". */
  readonly reason: string;
  /** The rule that decided, when one did. */
  readonly rule?: string;
  /** Human detail for logs and spans; never sent to the caller. */
  readonly detail?: string;
}

/** Per-call state. Created once per stream; filters may fill the mutable fields. */
export interface CallContext {
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  /** Name/value pairs as received (duplicates kept), for checks the headers object hides. */
  readonly rawHeaders: readonly string[];
  readonly peer: PeerIdentity;
  /** performance.now() when the stream arrived. */
  readonly startedAt: number;
  /** The raw :path as received. */
  readonly path: string;
  /** Set by the gRPC request filter once the path is known to be canonical. */
  method: GrpcMethod | undefined;
  /** Effective deadline in ms from start (caller's grpc-timeout capped by config), set by the gRPC filter. */
  timeoutMs: number;
  /** Set by the JWT authn filter when a valid bearer token was presented. */
  jwt: VerifiedJwt | undefined;
  /** Set by authz: the policy decision and the snapshot version it came from. */
  decision: Decision | undefined;
  policyVersion: string | undefined;
}

export type FilterResult = Rejection | undefined;

export interface Filter {
  readonly name: string;
  apply(ctx: CallContext): FilterResult | Promise<FilterResult>;
}

export function reject(code: RejectCode, reason: string, detail?: string, rule?: string): Rejection {
  return { code, reason, detail, rule };
}
