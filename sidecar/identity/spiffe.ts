// SPIFFE ID parsing and validation (https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md).
// Pure and allocation-light: used on the data path (once per connection) and by config/CLI.

export interface SpiffeId {
  readonly uri: string;
  readonly trustDomain: string;
  /** "" for a trust-domain ID (`spiffe://td`), otherwise "/seg/seg". */
  readonly path: string;
}

export type SpiffeParse = { ok: true; id: SpiffeId } | { ok: false; error: string };

const SCHEME = 'spiffe://';
/** SPIFFE-ID §2.3: URIs up to 2048 bytes; the host part is at most 255 bytes (RFC 3986). */
export const MAX_SPIFFE_ID_LENGTH = 2048;
export const MAX_TRUST_DOMAIN_LENGTH = 255;

const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[a-zA-Z0-9._-]+$/;

function fail(error: string): SpiffeParse {
  return { ok: false, error };
}

/**
 * Parses `spiffe://trust-domain[/path]`. Strict: the scheme is matched byte for byte, no
 * userinfo/port/query/fragment, no percent-encoding, no empty/dot segments, no trailing slash.
 * Never throws.
 */
export function parseSpiffeId(uri: string): SpiffeParse {
  if (typeof uri !== 'string') return fail('SPIFFE ID must be a string');
  if (uri.length === 0) return fail('SPIFFE ID is empty');
  // UTF-16 length <= byte length for anything that passes the ASCII-only checks below.
  if (uri.length > MAX_SPIFFE_ID_LENGTH) return fail(`SPIFFE ID is longer than ${MAX_SPIFFE_ID_LENGTH} bytes`);
  if (!uri.startsWith(SCHEME)) return fail('scheme must be "spiffe://"');

  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);

  // Specific messages first for the URI parts the spec forbids by name; the character
  // check below would reject them anyway.
  if (uri.includes('?')) return fail('SPIFFE ID must not have a query');
  if (uri.includes('#')) return fail('SPIFFE ID must not have a fragment');
  if (uri.includes('%')) return fail('SPIFFE ID must not contain percent-encoding');
  if (trustDomain.length === 0) return fail('trust domain is missing');
  if (trustDomain.includes('@')) return fail('trust domain must not have userinfo');
  if (trustDomain.includes(':')) return fail('trust domain must not have a port');
  if (trustDomain.length > MAX_TRUST_DOMAIN_LENGTH) {
    return fail(`trust domain is longer than ${MAX_TRUST_DOMAIN_LENGTH} bytes`);
  }
  if (!TRUST_DOMAIN_CHARS.test(trustDomain)) {
    return fail('trust domain characters are limited to lowercase letters, digits, ".", "-" and "_"');
  }

  if (path !== '') {
    if (path.endsWith('/')) return fail('path must not have a trailing slash');
    // path starts with "/", so the first element of split is always "".
    const segments = path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const segment = segments[i]!;
      if (segment === '') return fail('path must not contain empty segments');
      if (segment === '.' || segment === '..') return fail('path must not contain "." or ".." segments');
      if (!SEGMENT_CHARS.test(segment)) {
        return fail('path segment characters are limited to letters, digits, ".", "-" and "_"');
      }
    }
  }

  return { ok: true, id: Object.freeze({ uri, trustDomain, path }) };
}
