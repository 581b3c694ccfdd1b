// Undeclared gRPC methods (DATA path, DESIGN §8): with `catalog.protos` set, a call to a
// method no service there declares is refused before the policy with 12 UNIMPLEMENTED and
// never forwarded (`undeclared: deny`); `audit` lets it on to the policy and records
// `audit_deny` (reason `undeclared_method`); `allow` only counts it (catalog observer).
// One read of the declarations snapshot and one Map lookup per call.

import { RejectCode } from '../core/codes.js';
import type { CallContext, Filter, FilterResult, Rejection } from '../core/filter.js';
import type { DeclarationsSource } from './declarations-model.js';

export type UndeclaredMode = 'deny' | 'audit' | 'allow';

export const UNDECLARED_REASON = 'undeclared_method';

const REFUSED: Rejection = Object.freeze({ code: RejectCode.UNIMPLEMENTED, reason: UNDECLARED_REASON, detail: 'method not declared in catalog.protos' });
const AUDITED: Rejection = Object.freeze({ code: RejectCode.UNIMPLEMENTED, reason: UNDECLARED_REASON, detail: 'method not declared in catalog.protos (undeclared: audit)' });

/** The filter, or undefined when it has nothing to do (`allow`): the chain then skips it. */
export function undeclaredFilter(declarations: DeclarationsSource, mode: UndeclaredMode): Filter | undefined {
  if (mode === 'allow') return undefined;
  return {
    name: 'undeclared',
    apply(ctx: CallContext): FilterResult {
      const current = declarations.current;
      // No catalog.protos: nothing is declared, so nothing is "undeclared".
      if (!current.grpcDeclared || ctx.method === undefined || current.methods.has(ctx.method.fullName)) return undefined;
      if (mode === 'deny') return REFUSED;
      ctx.auditedLimit ??= AUDITED; // the audit observer writes it as audit_deny
      return undefined;
    },
  };
}
