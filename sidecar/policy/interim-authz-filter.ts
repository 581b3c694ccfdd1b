// Authorization until the policy engine exists (data path). Default deny: every call is
// PERMISSION_DENIED unless `inbound.allowAnyAuthenticated` is set, which lets any caller
// with a verified SPIFFE ID through. That relaxation is logged loudly at startup.

import { RejectCode } from '../core/codes.js';
import { reject, type CallContext, type Filter, type FilterResult } from '../core/filter.js';

const DEFAULT_DENY = reject(RejectCode.PERMISSION_DENIED, 'default_deny', 'no policy allows this call');
const UNAUTHENTICATED_DENY = reject(RejectCode.PERMISSION_DENIED, 'unauthenticated', 'plaintext caller');

export function interimAuthzFilter(allowAnyAuthenticated: boolean): Filter {
  return {
    name: 'authz',
    apply(ctx: CallContext): FilterResult {
      if (!ctx.peer.authenticated) return UNAUTHENTICATED_DENY;
      return allowAnyAuthenticated ? undefined : DEFAULT_DENY;
    },
  };
}
