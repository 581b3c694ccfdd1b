// Identity filter (data path): a TLS caller whose certificate verified but does not carry
// exactly one SPIFFE ID of our trust domain is UNAUTHENTICATED. Plaintext callers
// (permissive mode only) continue as unauthenticated; authorization decides about them.

import { RejectCode } from '../core/codes.js';
import { reject, type CallInfo, type Filter, type FilterResult } from '../core/filter.js';

export function identityFilter(): Filter<CallInfo> {
  return {
    name: 'identity',
    apply(ctx: CallInfo): FilterResult {
      const peer = ctx.peer;
      if (peer.authenticated || peer.transport === 'plaintext') return undefined;
      return reject(RejectCode.UNAUTHENTICATED, 'invalid_peer_identity', peer.error);
    },
  };
}
