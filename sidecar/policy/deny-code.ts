// The refusal code of a deny decision (DESIGN §5), shared by every authorization check —
// methods, GraphQL endpoints, fields, introspection: 16 when only a JWT is missing, else 7.

import { RejectCode } from '../core/codes.js';
import type { Decision } from './model.js';

export function denyCode(decision: Decision): RejectCode {
  return decision.code === 'UNAUTHENTICATED' ? RejectCode.UNAUTHENTICATED : RejectCode.PERMISSION_DENIED;
}
