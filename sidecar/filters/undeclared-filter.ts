// Undeclared gRPC methods (DATA path, DESIGN §8): with `catalog.protos` set, a call to a
// method no service there declares is refused before the policy with 12 UNIMPLEMENTED and
// never forwarded (`undeclared: deny`); `audit` lets it on to the policy and records
// `audit_deny` (reason `undeclared_method`); `allow` only counts it (catalog observer).
// One read of the declarations snapshot and one Map lookup per call.

import { RejectCode } from '../core/codes.js';
import type { FilterResult, Rejection } from '../core/filter.js';
import { UNDECLARED_REASON, type DeclarationsSource, type UndeclaredMode } from '../catalog/declarations-model.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

const REFUSED: Rejection = Object.freeze({ code: RejectCode.UNIMPLEMENTED, reason: UNDECLARED_REASON, detail: 'method not declared in catalog.protos' });
const AUDITED: Rejection = Object.freeze({ code: RejectCode.UNIMPLEMENTED, reason: UNDECLARED_REASON, detail: 'method not declared in catalog.protos (undeclared: audit)' });

/** The filter, or undefined when it has nothing to do (`allow`): the chain then leaves it out. */
export function undeclaredFilter(declarations: DeclarationsSource, mode: UndeclaredMode): CallFilter | undefined {
  if (mode === 'allow') return undefined;
  return {
    name: 'undeclared',
    apply(call: Call): FilterResult {
      const current = declarations.current;
      // No catalog.protos: nothing is declared, so nothing is "undeclared".
      if (!current.grpcDeclared || call.method === undefined || current.methods.has(call.method.fullName)) return undefined;
      if (mode === 'deny') return REFUSED;
      call.auditedLimit ??= AUDITED; // the audit observer writes it as audit_deny
      return undefined;
    },
  };
}
