// The per-call policy decision (DESIGN §4, §5). DATA path: pure, synchronous, no I/O, and
// no allocation: decisions are the frozen objects compile.ts preallocated.
import type { VerifiedJwt } from '../authn/verified-jwt.js';
import type { CallFacts, CompiledEntry, CompiledJwtCondition, CompiledMethodRule, Decision, PrincipalMatcher } from './model.js';

/** No rule names the method: DESIGN §4 default deny. */
export const DEFAULT_DENY: Decision = Object.freeze({
  decision: 'deny',
  code: 'PERMISSION_DENIED',
  reason: 'default_deny',
  rule: undefined,
  pattern: undefined,
  rules: undefined,
});

/** The method → rule tables, most specific first (built by compile.ts). */
export interface MethodTable {
  /** "pkg.Service/Method" → rule. */
  readonly exact: ReadonlyMap<string, CompiledMethodRule>;
  /** "pkg.Service" → prefix rules, longest prefix first; `pkg.Service/*` is the empty prefix, last. */
  readonly services: ReadonlyMap<string, readonly { readonly prefix: string; readonly rule: CompiledMethodRule }[]>;
  /** The `*` rule. */
  readonly any: CompiledMethodRule | undefined;
}

/** The most specific rule for `method`: exact > longest prefix > service wildcard > `*`. */
export function resolveMethod(table: MethodTable, method: string): CompiledMethodRule | undefined {
  const exact = table.exact.get(method);
  if (exact !== undefined) return exact;
  const slash = method.indexOf('/');
  if (slash > 0) {
    const prefixes = table.services.get(method.slice(0, slash));
    if (prefixes !== undefined) {
      for (let i = 0; i < prefixes.length; i++) {
        const p = prefixes[i]!;
        if (method.startsWith(p.prefix, slash + 1)) return p.rule;
      }
    }
  }
  return table.any;
}

/** Distinct method names remembered per snapshot; bounded, as method names come from callers. */
const LOOKUP_CACHE_MAX = 4096;

/**
 * resolveMethod with a per-snapshot memo, so a repeated method is one Map lookup and no
 * string slicing. The memo stops growing at LOOKUP_CACHE_MAX names (a caller inventing
 * names costs itself a slower lookup, never memory).
 */
export function createLookup(table: MethodTable): (method: string) => CompiledMethodRule | undefined {
  const memo = new Map<string, CompiledMethodRule | null>();
  return (method) => {
    const hit = memo.get(method);
    if (hit !== undefined) return hit ?? undefined;
    const rule = resolveMethod(table, method);
    if (memo.size < LOOKUP_CACHE_MAX) memo.set(method, rule ?? null);
    return rule;
  };
}

/**
 * The decision of `rule` (the most specific one for the method) for a call: deny entries
 * first, then allow entries; keys within an entry AND-ed, entries OR-ed. When no allow
 * entry matches but one would have with a JWT (none was presented), the answer is
 * UNAUTHENTICATED (DESIGN §5: JWT required but missing → 16).
 */
export function decideRule(rule: CompiledMethodRule | undefined, facts: CallFacts): Decision {
  if (rule === undefined) return DEFAULT_DENY;
  const deny = rule.deny;
  for (let i = 0; i < deny.length; i++) {
    const entry = deny[i]!;
    if (entryMatches(entry, facts)) return entry.onMatch;
  }
  // One pass over the allow entries; remember the first one that lacks only a JWT.
  const allow = rule.allow;
  const jwt = facts.jwt;
  let jwtMissing: Decision | undefined;
  for (let i = 0; i < allow.length; i++) {
    const entry = allow[i]!;
    if (!peerMatches(entry.peer, facts.principal)) continue;
    const condition = entry.jwt;
    if (condition === undefined) return entry.onMatch;
    if (jwt === undefined) jwtMissing ??= entry.onJwtMissing;
    else if (jwtMatches(condition, jwt)) return entry.onMatch;
  }
  return jwtMissing ?? rule.noAllowMatch;
}

export function entryMatches(entry: CompiledEntry, facts: CallFacts): boolean {
  if (!peerMatches(entry.peer, facts.principal)) return false;
  const condition = entry.jwt;
  return condition === undefined || (facts.jwt !== undefined && jwtMatches(condition, facts.jwt));
}

/** The token comes from the condition's provider and satisfies every claim condition. */
export function jwtMatches(condition: CompiledJwtCondition, jwt: VerifiedJwt): boolean {
  if (jwt.provider !== condition.provider) return false;
  const claims = condition.claims;
  for (let i = 0; i < claims.length; i++) if (!claims[i]!.test(jwt.payload)) return false;
  return true;
}

/** `peer` undefined = `unauthenticated: true`: anyone. Otherwise an authenticated peer that matches. */
export function peerMatches(peer: PrincipalMatcher | undefined, principal: string | undefined): boolean {
  if (peer === undefined) return true;
  if (principal === undefined) return false;
  if (peer.any || peer.exact.has(principal)) return true;
  const prefixes = peer.prefixes;
  for (let i = 0; i < prefixes.length; i++) if (principal.startsWith(prefixes[i]!)) return true;
  return false;
}
