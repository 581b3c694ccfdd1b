// Principals that can never match (control path, `policy lint --config`): a SPIFFE ID or
// prefix outside the sidecar's trust domain never equals a verified caller's ID, since
// callers outside the trust domain are refused at the handshake.

import type { PolicyEntry } from './schema.js';
import type { PolicySnapshot } from './model.js';

/** One warning line per entry principal outside `trustDomain`: `FILE:LINE:COL: rule: principal ...`. */
export function principalsOutsideTrustDomain(snapshot: PolicySnapshot, trustDomain: string): string[] {
  const warnings = new Set<string>();
  const check = (entries: readonly PolicyEntry[] | undefined, where: string, id: string): void => {
    for (const entry of entries ?? []) {
      for (const principal of entry.principals ?? []) {
        const domain = /^spiffe:\/\/([^/]+)/.exec(principal)?.[1];
        if (domain === undefined || domain === trustDomain) continue;
        warnings.add(`${where}: ${id}: principal ${JSON.stringify(principal)} is outside the trust domain ${trustDomain}: it can never match a caller`);
      }
    }
  };
  for (const rule of snapshot.grpc) {
    for (const e of [...rule.deny, ...rule.allow]) check([e.source], e.where, e.id);
  }
  for (const g of snapshot.graphql) {
    const r = g.rule;
    check(r.allow, g.where, `${g.id}.allow`);
    check(r.deny, g.where, `${g.id}.deny`);
    check(r.introspection?.allow, g.where, `${g.id}.introspection.allow`);
    check(r.introspection?.deny, g.where, `${g.id}.introspection.deny`);
    r.fields?.forEach((f, i) => {
      check(f.allow, g.where, `${g.id}.fields[${i}].allow`);
      check(f.deny, g.where, `${g.id}.fields[${i}].deny`);
    });
  }
  return [...warnings];
}
