// Peer workload identity from a TLS socket: a verified X.509-SVID leaf with exactly one
// SPIFFE ID in our trust domain (X509-SVID §5). Data path: called once per connection.

import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { parseSpiffeId } from './spiffe.js';

export interface PeerIdentity {
  /** true only for a verified cert with a valid SPIFFE ID in our trust domain */
  readonly authenticated: boolean;
  readonly transport: 'mtls' | 'plaintext';
  /** the URI SAN, when authenticated */
  readonly spiffeId?: string;
  /** hex sha256 of the peer leaf DER, whenever the peer presented a certificate (check `authenticated` before trusting it) */
  readonly certSha256?: string;
  /** why not authenticated (for logs/audit only, never sent to callers) */
  readonly error?: string;
}

export const PLAINTEXT_PEER: PeerIdentity = Object.freeze({
  authenticated: false,
  transport: 'plaintext',
  error: 'plaintext connection',
});

function rejected(error: string, certSha256?: string): PeerIdentity {
  return Object.freeze(
    certSha256 === undefined
      ? { authenticated: false, transport: 'mtls' as const, error }
      : { authenticated: false, transport: 'mtls' as const, certSha256, error },
  );
}

export function peerIdentityFromSocket(socket: TLSSocket, trustDomain: string): PeerIdentity {
  const cert = socket.getPeerX509Certificate();
  const certSha256 = cert === undefined ? undefined : createHash('sha256').update(cert.raw).digest('hex');

  // Checked first: without a client cert Node reports the misleading UNABLE_TO_GET_ISSUER_CERT.
  if (cert === undefined) return rejected('no peer certificate');
  if (!socket.authorized) {
    // Node types this as Error, but at runtime it is usually an OpenSSL code string.
    const reason = socket.authorizationError as unknown;
    const text = reason instanceof Error ? reason.message : reason ? String(reason) : 'unknown reason';
    return rejected(`peer certificate not verified: ${text}`, certSha256);
  }
  // X509-SVID §5.2: a signing certificate must never authenticate a caller. (keyCertSign is
  // not visible through node:crypto; a CA-flagged leaf is the case that matters in practice.)
  if (cert.ca) return rejected('peer certificate is a CA certificate', certSha256);

  const uris = parseSubjectAltName(cert.subjectAltName);
  if (uris === null) return rejected('peer certificate has a malformed subjectAltName', certSha256);
  if (uris.length !== 1) {
    return rejected(`peer certificate must have exactly one URI SAN, found ${uris.length}`, certSha256);
  }
  const parsed = parseSpiffeId(uris[0]!);
  if (!parsed.ok) return rejected(`peer URI SAN is not a SPIFFE ID: ${parsed.error}`, certSha256);
  if (parsed.id.path === '') {
    return rejected('peer SPIFFE ID names a trust domain, not a workload', certSha256);
  }
  if (parsed.id.trustDomain !== trustDomain) {
    return rejected(`peer trust domain "${parsed.id.trustDomain}" is not "${trustDomain}"`, certSha256);
  }
  return Object.freeze({ authenticated: true, transport: 'mtls' as const, spiffeId: parsed.id.uri, certSha256 });
}

/**
 * The URI entries of Node's `X509Certificate.subjectAltName` string, decoded. Returns []
 * for undefined and for a string that does not follow Node's format (see parseSubjectAltName).
 */
export function uriSansOf(subjectAltName: string | undefined): string[] {
  return parseSubjectAltName(subjectAltName) ?? [];
}

/**
 * Parses Node's SAN string: entries `TYPE:value` joined by ", ". Since Node 17.3.1
 * (CVE-2021-44532) a value containing `,` `"` `\` `'` or a control/non-ASCII char is written
 * as a JSON string literal, so a comma inside a quoted value never separates entries.
 * Returns the URI values, or null when the string is malformed in any way.
 */
function parseSubjectAltName(san: string | undefined): string[] | null {
  if (san === undefined || san === '') return [];
  const uris: string[] = [];
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon === -1) return null;
    const type = san.slice(i, colon);
    if (!/^[A-Za-z][A-Za-z0-9 ]*$/.test(type)) return null;
    i = colon + 1;

    let value: string;
    if (san[i] === '"') {
      const end = endOfJsonString(san, i);
      if (end === -1) return null;
      try {
        value = JSON.parse(san.slice(i, end)) as string;
      } catch {
        return null;
      }
      i = end;
    } else {
      const sep = san.indexOf(', ', i);
      const end = sep === -1 ? san.length : sep;
      value = san.slice(i, end);
      // Unquoted values never contain these; if one does, the string is not Node's format.
      if (/[",\\']/.test(value)) return null;
      i = end;
    }

    if (type === 'URI') uris.push(value);
    if (i === san.length) break;
    if (!san.startsWith(', ', i)) return null;
    i += 2;
    if (i === san.length) return null; // trailing separator
  }
  return uris;
}

/** Index just past the closing quote of the JSON string starting at `start`, or -1. */
function endOfJsonString(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '"') return i + 1;
  }
  return -1;
}
