// Writes a test PKI (dev CA, the sidecar's SVID and good and bad client SVIDs) into a
// folder, using the sidecar's own dev CA. Test support, not part of the sidecar.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDevCa, issueWorkloadCert } from '../../sidecar/identity/dev-ca.js';

export interface PemFiles {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

export interface Svid extends PemFiles {
  /** The URI SANs written into the certificate (empty for the client without one). */
  uris: string[];
}

export interface Pki {
  dir: string;
  trustDomain: string;
  ca: PemFiles;
  /** The sidecar's SVID: spiffe://<td>/ns/shop/sa/orders. */
  server: Svid;
  /** A good caller: spiffe://<td>/ns/web/sa/frontend. */
  client: Svid;
  /** Another CA of the same trust domain, and a client it issued (must not chain to `ca`). */
  otherCa: PemFiles;
  otherCaClient: Svid;
  expiredClient: Svid;
  /** Only a DNS SAN, no URI SAN. */
  noUriClient: Svid;
  /** spiffe://evil.local/ns/web/sa/frontend, issued by the good CA. */
  wrongTrustDomainClient: Svid;
  /** Two URI SANs (X509-SVID allows exactly one). */
  twoUriClient: Svid;
}

export const serverId = (trustDomain = 'cluster.local'): string => `spiffe://${trustDomain}/ns/shop/sa/orders`;
export const clientId = (trustDomain = 'cluster.local'): string => `spiffe://${trustDomain}/ns/web/sa/frontend`;

const HOUR_MS = 3_600_000;

async function writePair(dir: string, name: string, pair: { certPem: string; keyPem: string }): Promise<PemFiles> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(certFile, pair.certPem);
  await writeFile(keyFile, pair.keyPem, { mode: 0o600 });
  return { certFile, keyFile, certPem: pair.certPem, keyPem: pair.keyPem };
}

/**
 * Issues one more SVID from `ca` into `dir` as `<name>.crt` / `<name>.key`
 * (e.g. a second caller for policy tests).
 */
export async function issueSvid(
  dir: string,
  name: string,
  ca: { certPem: string; keyPem: string },
  opts: { spiffeId?: string; uris?: string[]; dnsNames?: string[]; notBefore?: Date; notAfter?: Date; validHours?: number },
): Promise<Svid> {
  const uris = opts.uris ?? (opts.spiffeId === undefined ? [] : [opts.spiffeId]);
  const pair = await issueWorkloadCert({ ...opts, ca, uris });
  return { ...(await writePair(dir, name, pair)), uris };
}

/** Creates `dir` if needed and writes every certificate of {@link Pki} into it. */
export async function makePki(dir: string, trustDomain = 'cluster.local'): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const caPair = await createDevCa({ trustDomain, commonName: 'meshward test CA' });
  const otherCaPair = await createDevCa({ trustDomain, commonName: 'meshward other test CA' });
  const ca = await writePair(dir, 'ca', caPair);
  const otherCa = await writePair(dir, 'other-ca', otherCaPair);
  const now = Date.now();
  const frontend = clientId(trustDomain);

  const [server, client, otherCaClient, expiredClient, noUriClient, wrongTrustDomainClient, twoUriClient] = await Promise.all([
    issueSvid(dir, 'server', caPair, { spiffeId: serverId(trustDomain) }),
    issueSvid(dir, 'client', caPair, { spiffeId: frontend }),
    issueSvid(dir, 'other-ca-client', otherCaPair, { spiffeId: frontend }),
    issueSvid(dir, 'expired-client', caPair, {
      spiffeId: frontend,
      notBefore: new Date(now - 48 * HOUR_MS),
      notAfter: new Date(now - 24 * HOUR_MS),
    }),
    issueSvid(dir, 'no-uri-client', caPair, { uris: [], dnsNames: ['frontend.web.svc.cluster.local'] }),
    issueSvid(dir, 'wrong-td-client', caPair, { uris: ['spiffe://evil.local/ns/web/sa/frontend'] }),
    issueSvid(dir, 'two-uri-client', caPair, { uris: [frontend, `spiffe://${trustDomain}/ns/web/sa/backend`] }),
  ]);
  return { dir, trustDomain, ca, server, client, otherCa, otherCaClient, expiredClient, noUriClient, wrongTrustDomainClient, twoUriClient };
}

/** The credentials a test client presents: the PKI's CA plus one client SVID (or none). */
export function clientTls(pki: Pki, svid?: PemFiles): { caPem: string; certPem?: string; keyPem?: string } {
  return svid ? { caPem: pki.ca.certPem, certPem: svid.certPem, keyPem: svid.keyPem } : { caPem: pki.ca.certPem };
}
