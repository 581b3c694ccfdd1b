// The headers meshward asserts to the app (DESIGN §5), shared by the gRPC and GraphQL
// forwarders (data path): the caller's versions are dropped, meshward's own set — the peer's
// SPIFFE ID, x-forwarded-client-cert (built once per connection) and the trace context.

import type { OutgoingHttpHeaders } from 'node:http';
import type { CallTrace } from '../pipeline/call.js';
import type { PeerIdentity } from '../identity/peer-identity.js';

/** Headers a caller may not set because meshward asserts them to the app. */
export function isAssertedHeader(name: string): boolean {
  return name === 'x-forwarded-client-cert' || name.startsWith('x-meshward-');
}

export class AssertedHeaders {
  private readonly xfcc = new WeakMap<PeerIdentity, string>();

  /** `localId` is this workload's SPIFFE ID, the `By=` of x-forwarded-client-cert. */
  constructor(private readonly localId: string) {}

  /** Adds the identity and trace headers to `out`, whose caller-sent asserted headers were already left out. */
  apply(out: OutgoingHttpHeaders, peer: PeerIdentity, trace: CallTrace | undefined): void {
    if (peer.authenticated && peer.spiffeId !== undefined) {
      out['x-forwarded-client-cert'] = this.clientCertHeader(peer);
      out['x-meshward-principal'] = peer.spiffeId;
    }
    // Trace context: meshward's span becomes the app's parent (telemetry/trace-observer.ts).
    const headers = trace?.appHeaders;
    if (headers === undefined) return;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) delete out[name];
      else out[name] = value;
    }
  }

  /**
   * The same as `apply`, for a field list (meshward's own HTTP/2 codec): appends the identity
   * and trace fields; the caller's trace fields of the same names must have been left out
   * (`replacedByTrace`).
   */
  applyPairs(out: string[], peer: PeerIdentity, trace: CallTrace | undefined): void {
    if (peer.authenticated && peer.spiffeId !== undefined) out.push('x-forwarded-client-cert', this.clientCertHeader(peer), 'x-meshward-principal', peer.spiffeId);
    const headers = trace?.appHeaders;
    if (headers === undefined) return;
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined) out.push(name, value);
    }
  }

  /** x-forwarded-client-cert for a caller: built once per connection (its PeerIdentity), not per call. */
  private clientCertHeader(peer: PeerIdentity): string {
    let value = this.xfcc.get(peer);
    if (value === undefined) {
      value = `By=${this.localId};Hash=${peer.certSha256 ?? ''};URI=${peer.spiffeId}`;
      this.xfcc.set(peer, value);
    }
    return value;
  }
}

/** Whether the call's trace context replaces (or removes) the caller's field `name`. */
export function replacedByTrace(name: string, trace: CallTrace | undefined): boolean {
  return trace !== undefined && name in trace.appHeaders;
}
