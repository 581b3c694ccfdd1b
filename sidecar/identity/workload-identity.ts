// Loads this workload's X.509-SVID, key and trust bundle (control path) and checks that
// the certificate carries exactly one SPIFFE ID of the configured trust domain.

import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import { parseSpiffeId } from './spiffe.js';
import { uriSansOf } from './peer-identity.js';

export interface WorkloadIdentity {
  readonly spiffeId: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
  /** Leaf validity, ms since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface IdentityFiles {
  readonly trustDomain: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export function loadWorkloadIdentity(files: IdentityFiles): WorkloadIdentity {
  const certPem = read(files.certFile, 'certFile');
  const keyPem = read(files.keyFile, 'keyFile');
  const caPem = read(files.caFile, 'caFile');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (err) {
    throw new Error(`identity.certFile ${files.certFile}: not a PEM certificate (${(err as Error).message})`);
  }
  const uris = uriSansOf(leaf.subjectAltName);
  if (uris.length !== 1) throw new Error(`identity.certFile ${files.certFile}: expected exactly one URI SAN, found ${uris.length}`);
  const parsed = parseSpiffeId(uris[0]!);
  if (!parsed.ok) throw new Error(`identity.certFile ${files.certFile}: URI SAN is not a SPIFFE ID: ${parsed.error}`);
  if (parsed.id.trustDomain !== files.trustDomain) {
    throw new Error(`identity.certFile ${files.certFile}: SPIFFE ID ${parsed.id.uri} is not in trust domain ${files.trustDomain} (identity.trustDomain)`);
  }
  try {
    createSecureContext({ cert: certPem, key: keyPem, ca: caPem });
  } catch (err) {
    throw new Error(`identity.keyFile ${files.keyFile} does not match identity.certFile ${files.certFile}, or one of them (or identity.caFile ${files.caFile}) is unreadable (${(err as Error).message})`);
  }
  return Object.freeze({
    spiffeId: parsed.id.uri,
    certPem,
    keyPem,
    caPem,
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
  });
}

function read(file: string, key: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`identity.${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
