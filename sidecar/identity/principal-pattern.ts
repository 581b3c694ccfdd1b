// Principal patterns of policies and of `admin.allow` (pure): an exact workload SPIFFE ID, a
// prefix ending in "/*", or "*" (any authenticated peer). Used by the policy compiler, the
// sidecar config and the admin listener.

import { parseSpiffeId } from './spiffe.js';

/** A parse result: the value, or what is wrong with the text. */
type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * A parsed principal pattern: an exact workload SPIFFE ID, a prefix (`spiffe://td/ns/ops/*`
 * → every ID starting with `spiffe://td/ns/ops/`), or `*` (any authenticated peer).
 */
export type PrincipalPattern =
  | { readonly kind: 'exact'; readonly id: string }
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'any' };

/** The shape of a principal pattern, for the JSON Schema; parsePrincipalPattern decides. */
export const PRINCIPAL_PATTERN_REGEX =
  '^(\\*|spiffe://[a-z0-9._-]+(/[A-Za-z0-9._-]+)+|spiffe://[a-z0-9._-]+(/[A-Za-z0-9._-]+)*/\\*)$';

const PRINCIPAL_FORMS =
  'a SPIFFE ID such as "spiffe://cluster.local/ns/NS/sa/SA", a prefix ending in "/*" such as "spiffe://cluster.local/ns/NS/*", or "*"';

export function parsePrincipalPattern(text: string): Parsed<PrincipalPattern> {
  const bad = (why: string): Parsed<PrincipalPattern> => ({ ok: false, error: `${why}; expected ${PRINCIPAL_FORMS}` });
  if (text === '*') return { ok: true, value: { kind: 'any' } };
  if (text.endsWith('/*')) {
    const base = text.slice(0, -2);
    if (base.includes('*')) return bad('"*" is allowed only as the last path segment');
    const parsed = parseSpiffeId(base);
    // `spiffe://td/*` (every workload of a trust domain) or `spiffe://td/some/path/*`.
    if (!parsed.ok) return bad(`the part before "/*" is not a SPIFFE ID (${parsed.error})`);
    return { ok: true, value: { kind: 'prefix', prefix: `${base}/` } };
  }
  if (text.includes('*')) return bad('"*" is allowed only as the last path segment, as "/*"');
  const parsed = parseSpiffeId(text);
  if (!parsed.ok) return bad(parsed.error);
  if (parsed.id.path === '') return bad('a trust domain alone names no workload (write "spiffe://TD/*" for all of them)');
  return { ok: true, value: { kind: 'exact', id: text } };
}
