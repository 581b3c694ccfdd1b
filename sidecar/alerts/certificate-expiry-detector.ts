// MeshwardCertificateExpiry (DESIGN §10): this workload's certificate has less than
// `lifetimeLeft` of its lifetime left — rotation (cert-manager, SPIRE) is not renewing it.
// Resolves when a rotated certificate is loaded. CONTROL path (evaluation timer).

import { formatMs, num, type AlertDraft } from './alert.js';

export interface CertificateFacts {
  readonly spiffeId: string;
  /** ms since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}

export function certificateExpiry(cert: CertificateFacts, lifetimeLeft: number, now: number): AlertDraft | undefined {
  const lifetime = cert.notAfter - cert.notBefore;
  if (!(lifetime > 0)) return undefined;
  const left = cert.notAfter - now;
  const share = left / lifetime;
  if (share >= lifetimeLeft) return undefined;
  const leftText = left > 0 ? `expires in ${formatMs(Math.max(0, Math.round(left / 1000)) * 1000)}` : 'has expired';
  return {
    alertname: 'MeshwardCertificateExpiry',
    severity: share < lifetimeLeft / 4 ? 'critical' : 'warning',
    principal: cert.spiffeId,
    summary: `The workload certificate of ${cert.spiffeId} ${leftText}`,
    description:
      `Less than ${num(lifetimeLeft * 100)}% of the certificate's lifetime is left (${num(Math.max(0, share) * 100)}%). ` +
      `It should have been rotated by now: check the issuer (cert-manager csi-driver-spiffe, SPIRE) and that the files meshward watches are updated.`,
    rule: `lifetime left < ${num(lifetimeLeft * 100)}%`,
    numbers: {
      not_before: new Date(cert.notBefore).toISOString(),
      not_after: new Date(cert.notAfter).toISOString(),
      seconds_left: String(Math.round(left / 1000)),
      lifetime_left: num(Math.max(0, share)),
    },
  };
}
