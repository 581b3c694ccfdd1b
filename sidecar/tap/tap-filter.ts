// Which calls a tap subscriber wants (DESIGN §12): `method`, `principal` and `decision`, as
// query parameters of GET /tap. Parsed once per subscription (CONTROL); `tapMatches` runs per
// call and subscriber (data path: a few comparisons, no allocation).

import { methodPatternMatches, parseMethodPattern, parsePrincipalPattern, type MethodPattern, type PrincipalPattern } from '../policy/patterns.js';
import type { TapEvent } from './tap-event.js';

export interface TapFilter {
  /** A policy method pattern (`pkg.Service/Method`, `pkg.Service/*`, `pkg.Service/Get*`, `*`), or a GraphQL endpoint path. */
  readonly method?: MethodPattern | { readonly kind: 'path'; readonly path: string };
  /** A policy principal pattern (`spiffe://td/ns/web/sa/frontend`, `spiffe://td/ns/web/*`, `*` = any authenticated). */
  readonly principal?: PrincipalPattern;
  readonly decision?: TapEvent['decision'];
}

export const TAP_DECISIONS: readonly TapEvent['decision'][] = ['allow', 'deny', 'audit_deny'];

export type ParsedFilter = { readonly ok: true; readonly filter: TapFilter } | { readonly ok: false; readonly error: string };

const KNOWN = new Set(['method', 'principal', 'decision']);

/** From GET /tap's query; an empty value means "no filter on that field". */
export function parseTapFilter(query: URLSearchParams): ParsedFilter {
  for (const key of query.keys()) {
    if (!KNOWN.has(key)) return { ok: false, error: `unknown parameter "${key}"; expected method, principal or decision` };
    if (query.getAll(key).length > 1) return { ok: false, error: `parameter "${key}" given more than once` };
  }
  const filter: { -readonly [K in keyof TapFilter]: TapFilter[K] } = {};
  const method = query.get('method') ?? '';
  if (method !== '') {
    if (method.startsWith('/')) filter.method = { kind: 'path', path: method };
    else {
      const parsed = parseMethodPattern(method);
      if (!parsed.ok) return { ok: false, error: `method: ${parsed.error}, or a GraphQL endpoint path such as "/graphql"` };
      filter.method = parsed.value;
    }
  }
  const principal = query.get('principal') ?? '';
  if (principal !== '') {
    const parsed = parsePrincipalPattern(principal);
    if (!parsed.ok) return { ok: false, error: `principal: ${parsed.error}` };
    filter.principal = parsed.value;
  }
  const decision = query.get('decision') ?? '';
  if (decision !== '') {
    if (!(TAP_DECISIONS as readonly string[]).includes(decision)) return { ok: false, error: `decision: expected one of ${TAP_DECISIONS.join(', ')}, got "${decision}"` };
    filter.decision = decision as TapEvent['decision'];
  }
  return { ok: true, filter };
}

/** The filter as query parameters again (for logs and the `subscribed` event). */
export function describeTapFilter(filter: TapFilter): Record<string, string> {
  const out: Record<string, string> = {};
  const m = filter.method;
  if (m !== undefined) out.method = m.kind === 'path' ? m.path : m.pattern;
  const p = filter.principal;
  if (p !== undefined) out.principal = p.kind === 'any' ? '*' : p.kind === 'exact' ? p.id : `${p.prefix}*`;
  if (filter.decision !== undefined) out.decision = filter.decision;
  return out;
}

export function tapMatches(filter: TapFilter, event: TapEvent): boolean {
  if (filter.decision !== undefined && event.decision !== filter.decision) return false;
  const m = filter.method;
  if (m !== undefined) {
    if (m.kind === 'path') {
      if (event.protocol !== 'graphql' || event.method !== m.path) return false;
    } else if (event.protocol !== 'grpc' || !methodPatternMatches(m, event.method)) return false;
  }
  const p = filter.principal;
  if (p !== undefined) {
    const id = event.principal;
    if (id === null) return false;
    if (p.kind === 'exact' ? id !== p.id : p.kind === 'prefix' ? !id.startsWith(p.prefix) : false) return false;
  }
  return true;
}
