// Who may use the admin listener (DESIGN §12). On loopback: anyone who can reach it (the
// pod itself). On any other address: /healthz and /readyz stay open (the kubelet probes them
// without a certificate); everything else needs mTLS with a SPIFFE ID in `admin.allow`.
// Control path: checked once per request, the peer computed once per connection.

import type { PeerIdentity } from '../identity/peer-identity.js';
import { parsePrincipalPattern, type PrincipalPattern } from '../policy/patterns.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

export interface AccessDenial {
  readonly status: 401 | 403;
  readonly message: string;
}

const NEEDS_MTLS: AccessDenial = Object.freeze({
  status: 403,
  message: 'this admin endpoint needs mTLS: connect with https and a client certificate whose SPIFFE ID is in admin.allow (only /healthz and /readyz are open)\n',
});

export function principalAllowed(allow: readonly PrincipalPattern[], id: string): boolean {
  for (const p of allow) {
    if (p.kind === 'any' || (p.kind === 'exact' ? p.id === id : id.startsWith(p.prefix))) return true;
  }
  return false;
}

/** undefined = served; otherwise the refusal (the reason is for the caller: it is the operator). */
export function checkAdminAccess(peer: PeerIdentity, allow: readonly PrincipalPattern[]): AccessDenial | undefined {
  if (peer.transport === 'plaintext') return NEEDS_MTLS;
  if (!peer.authenticated || peer.spiffeId === undefined) {
    return { status: 401, message: `admin: client certificate not accepted (${peer.error ?? 'unknown reason'})\n` };
  }
  if (!principalAllowed(allow, peer.spiffeId)) {
    return { status: 403, message: `admin: ${peer.spiffeId} is not in admin.allow\n` };
  }
  return undefined;
}

/** admin.allow as parsed patterns (the config schema has checked every entry). */
export function parseAdminAllow(allow: readonly string[]): PrincipalPattern[] {
  const out: PrincipalPattern[] = [];
  for (const text of allow) {
    const parsed = parsePrincipalPattern(text);
    if (parsed.ok) out.push(parsed.value);
  }
  return out;
}
