// MeshwardJwtFailures (DESIGN §10): one caller presenting tokens with a bad signature, an
// unknown key id or a refused algorithm (`alg: none`, HS256 with a public key...) — forged or
// replayed tokens, not clock skew — at least `floor` times in a window. Summed over the
// caller's methods. CONTROL path (evaluation timer).

import type { AlertsConfig } from '../config/alerts-schema.js';
import { clip, formatMs, type AlertDraft } from './alert.js';
import type { PairStats } from './pair-table.js';

export type JwtFailureSettings = AlertsConfig['jwtFailures'];

/** One caller's JWT attack failures in a window, summed over its pairs. */
export class JwtFailureTally {
  badSignature = 0;
  unknownKey = 0;
  badAlgorithm = 0;
  traceId: string | undefined;
  readonly methods = new Map<string, number>();

  constructor(readonly principal: string) {}

  add(pair: PairStats): void {
    const n = pair.jwtBadSignature + pair.jwtUnknownKey + pair.jwtBadAlgorithm;
    if (n === 0) return;
    this.badSignature += pair.jwtBadSignature;
    this.unknownKey += pair.jwtUnknownKey;
    this.badAlgorithm += pair.jwtBadAlgorithm;
    this.methods.set(pair.method, (this.methods.get(pair.method) ?? 0) + n);
    this.traceId ??= pair.lastJwtTraceId;
  }

  get total(): number {
    return this.badSignature + this.unknownKey + this.badAlgorithm;
  }
}

export function jwtFailures(t: JwtFailureTally, s: JwtFailureSettings, windowMs: number): AlertDraft | undefined {
  if (t.total < s.floor) return undefined;
  const w = formatMs(windowMs);
  const top = [...t.methods].sort((a, b) => b[1] - a[1]).slice(0, 5);
  return {
    alertname: 'MeshwardJwtFailures',
    severity: 'critical',
    principal: t.principal,
    summary: `${t.total} forged-looking JWTs from ${t.principal} in ${w}`,
    description:
      `${t.principal} presented ${t.total} bearer tokens in ${w} that failed for a bad signature (${t.badSignature}), ` +
      `an unknown key id (${t.unknownKey}) or a refused algorithm (${t.badAlgorithm}). ` +
      `Forged or tampered tokens, or tokens of another issuer's keys; an IdP key rotation shows as unknown key ids.`,
    traceId: t.traceId,
    rule: `bad_signature + unknown_kid + bad_algorithm failures of one caller in ${w} >= ${s.floor}`,
    numbers: {
      failures: String(t.total),
      bad_signature: String(t.badSignature),
      unknown_kid: String(t.unknownKey),
      bad_algorithm: String(t.badAlgorithm),
      window: w,
      methods: clip(top.map(([m, n]) => `${m}=${n}`).join(', '), 500),
    },
  };
}
