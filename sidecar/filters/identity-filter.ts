// Identity filter (data path): a TLS caller whose certificate verified but does not carry
// exactly one SPIFFE ID of our trust domain is UNAUTHENTICATED. Plaintext callers
// (permissive mode only) continue as unauthenticated; authorization decides about them.

import { RejectCode } from '../core/codes.js';
import { reject, type FilterResult } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

export function identityFilter(): CallFilter {
  return {
    name: 'identity',
    apply(call: Call): FilterResult {
      const peer = call.peer;
      if (peer.authenticated || peer.transport === 'plaintext') return undefined;
      return reject(RejectCode.UNAUTHENTICATED, 'invalid_peer_identity', peer.error);
    },
  };
}
