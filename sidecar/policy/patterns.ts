// The small languages inside policy files (DESIGN §4): gRPC method patterns, principal
// patterns and JWT claim paths. Parsed once by the schema (validation) and by compile.ts
// (tables). CONTROL path; pure functions, no I/O.

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const SERVICE = `${IDENT}(?:\\.${IDENT})*`;
const IDENT_RE = new RegExp(`^${IDENT}$`);
const SERVICE_RE = new RegExp(`^${SERVICE}$`);

/** The shape of a method pattern, for the JSON Schema (editors); parseMethodPattern decides. */
export const METHOD_PATTERN_REGEX = `^(\\*|${SERVICE}/(\\*|${IDENT}\\*?))$`;

/**
 * A parsed gRPC method pattern, in order of specificity:
 * `exact` (`pkg.Service/Method`) > `prefix` (`pkg.Service/Get*`, longest first) >
 * `service` (`pkg.Service/*`, the empty prefix) > `any` (`*`).
 */
export type MethodPattern =
  | { readonly kind: 'exact'; readonly pattern: string; readonly service: string; readonly method: string }
  | { readonly kind: 'prefix'; readonly pattern: string; readonly service: string; readonly prefix: string }
  | { readonly kind: 'service'; readonly pattern: string; readonly service: string; readonly prefix: '' }
  | { readonly kind: 'any'; readonly pattern: '*' };

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const METHOD_FORMS = '"package.Service/Method", "package.Service/*", "package.Service/Prefix*" or "*"';

/** Parses a method pattern; the error says what is wrong and what is accepted. */
export function parseMethodPattern(text: string): Parsed<MethodPattern> {
  const bad = (why: string): Parsed<MethodPattern> => ({ ok: false, error: `${why}; expected ${METHOD_FORMS}` });
  if (text === '*') return { ok: true, value: { kind: 'any', pattern: '*' } };
  if (text.startsWith('/')) return bad('a method pattern has no leading "/"');
  const slash = text.indexOf('/');
  if (slash === -1) return bad('missing "/" between service and method');
  if (text.indexOf('/', slash + 1) !== -1) return bad('more than one "/"');
  const service = text.slice(0, slash);
  const method = text.slice(slash + 1);
  if (service.includes('*')) return bad('"*" is allowed only at the end of the method name');
  if (!SERVICE_RE.test(service)) return bad(`"${service}" is not a service name such as "package.Service"`);
  if (method === '*') return { ok: true, value: { kind: 'service', pattern: text, service, prefix: '' } };
  const star = method.indexOf('*');
  if (star !== -1 && star !== method.length - 1) return bad('"*" is allowed only at the end of the method name');
  const name = star === -1 ? method : method.slice(0, -1);
  if (!IDENT_RE.test(name)) return bad(`"${method}" is not a method name such as "GetOrder" or "Get*"`);
  if (star === -1) return { ok: true, value: { kind: 'exact', pattern: text, service, method } };
  return { ok: true, value: { kind: 'prefix', pattern: text, service, prefix: name } };
}

/** Whether `pattern` matches the canonical method name `method` ("pkg.Service/Method"). */
export function methodPatternMatches(pattern: MethodPattern, method: string): boolean {
  switch (pattern.kind) {
    case 'any':
      return true;
    case 'exact':
      return method === pattern.pattern;
    default:
      return method.startsWith(`${pattern.service}/${pattern.prefix}`);
  }
}

// Principal patterns are about SPIFFE IDs alone: identity/principal-pattern.ts (the sidecar
// config's admin.allow parses them too, without the policy folder).
export { parsePrincipalPattern, PRINCIPAL_PATTERN_REGEX, type PrincipalPattern } from '../identity/principal-pattern.js';

/** The shape of a claim path, for the JSON Schema. */
export const CLAIM_PATH_REGEX = '^[^.]+(\\.[^.]+)*$';

/** `realm_access.roles` → ["realm_access", "roles"]; segments must be non-empty. */
export function parseClaimPath(text: string): Parsed<readonly string[]> {
  const segments = text.split('.');
  if (text.length === 0 || segments.some((s) => s.length === 0)) {
    return { ok: false, error: 'a claim path is dot-separated non-empty names such as "scope" or "realm_access.roles"' };
  }
  return { ok: true, value: segments };
}

/**
 * A limit's `by` key (DESIGN §4): `principal`, `global` (one bucket per rule) or
 * `jwt:<claim path>` (one bucket per value of that claim).
 */
export type LimitKey =
  | { readonly kind: 'principal' }
  | { readonly kind: 'global' }
  | { readonly kind: 'jwt'; readonly claim: string; readonly path: readonly string[] };

export const LIMIT_KEY_REGEX = '^(principal|global|jwt:[^.]+(\\.[^.]+)*)$';

export function parseLimitKey(text: string): Parsed<LimitKey> {
  if (text === 'principal' || text === 'global') return { ok: true, value: { kind: text } };
  if (text.startsWith('jwt:')) {
    const claim = text.slice(4);
    const path = parseClaimPath(claim);
    if (path.ok) return { ok: true, value: { kind: 'jwt', claim, path: path.value } };
    return { ok: false, error: `"jwt:" needs a claim path: ${path.error}` };
  }
  return { ok: false, error: 'expected "principal", "global" or "jwt:<claim>" such as "jwt:sub"' };
}
