// Who a limit counts a call against (data path): the `by` of a limit (DESIGN §4) compiled
// once into a reader of plain values — the caller's SPIFFE ID, a JWT claim's value, or one
// key per rule.

import { createHash } from 'node:crypto';
import type { LimitKey } from '../policy/patterns.js';

/**
 * The key a call is counted under, from the caller's verified SPIFFE ID (undefined for a
 * plaintext caller) and its verified token's claims. `undefined` = the caller has no value
 * for it (a plaintext caller under `by: principal`, no token or no such claim under
 * `by: jwt:…`): all such callers share one bucket per rule, so leaving the claim out is never
 * a way around the limit.
 */
export type KeyReader = (principal: string | undefined, claims: Readonly<Record<string, unknown>> | undefined) => string | undefined;

/** The key of `by: global`: one bucket for every caller. */
export const GLOBAL_KEY = '';

/** Keys longer than this are replaced by a hash: a table entry stays small whatever a token carries. */
const MAX_KEY_CHARS = 256;

const hasOwn = Object.prototype.hasOwnProperty;

export function keyReader(by: LimitKey): KeyReader {
  switch (by.kind) {
    case 'global':
      return () => GLOBAL_KEY;
    case 'principal':
      return (principal) => (principal !== undefined ? bounded(principal) : undefined);
    case 'jwt': {
      const read = claimReader(by.claim, by.path);
      return (_principal, claims) => {
        if (claims === undefined) return undefined;
        const v = read(claims);
        if (typeof v === 'string') return bounded(v);
        if (typeof v === 'number' || typeof v === 'boolean') return String(v);
        return undefined;
      };
    }
  }
}

/** The `by` as users write it: "principal", "global", "jwt:sub". */
export function formatLimitKey(by: LimitKey): string {
  return by.kind === 'jwt' ? `jwt:${by.claim}` : by.kind;
}

/** A claim read as in policy/claims.ts: a key that itself contains the dots wins, then the nested path. */
function claimReader(claim: string, path: readonly string[]): (payload: Readonly<Record<string, unknown>>) => unknown {
  if (path.length === 1) return (payload) => (hasOwn.call(payload, claim) ? payload[claim] : undefined);
  return (payload) => {
    if (hasOwn.call(payload, claim)) return payload[claim];
    let node: unknown = payload;
    for (const segment of path) {
      if (typeof node !== 'object' || node === null || Array.isArray(node) || !hasOwn.call(node, segment)) return undefined;
      node = (node as Record<string, unknown>)[segment];
    }
    return node;
  };
}

function bounded(key: string): string {
  return key.length <= MAX_KEY_CHARS ? key : `sha256:${createHash('sha256').update(key).digest('base64')}`;
}
