// Compiled policy rules as people read them (control path): `policy explain` prints a rule's
// limits with it, and the admin `/policies?rules=1` lists every rule of the current snapshot.

import { formatDuration } from '../config/units.js';
import type { CompiledMethodRule, PolicySnapshot } from './model.js';

/** `rateLimit 5 per 1s, burst 2 by principal; concurrency 16 (queue 64); timeout 5s` — or ''. */
export function describeLimits(rule: CompiledMethodRule): string {
  const parts: string[] = [];
  const by = (k: { kind: string; claim?: string }) => (k.kind === 'jwt' ? `jwt:${k.claim}` : k.kind);
  const audit = (m: string) => (m === 'audit' ? ' [audit]' : '');
  for (const l of rule.rateLimits) {
    const burst = l.burst === undefined ? '' : `, burst ${l.burst}`;
    parts.push(`rateLimit ${l.requests} per ${formatDuration(l.perMs)}${burst} by ${by(l.by)}${audit(l.mode)}`);
  }
  for (const l of rule.concurrency) parts.push(`concurrency ${l.max} (queue ${l.queue})${audit(l.mode)}`);
  for (const l of rule.bandwidth) parts.push(`bandwidth ${l.bytesPerSecond} B/s by ${by(l.by)}${audit(l.mode)}`);
  if (rule.maxMessageBytes !== undefined) parts.push(`maxMessageBytes ${rule.maxMessageBytes}`);
  if (rule.timeoutMs !== undefined) parts.push(`timeout ${formatDuration(rule.timeoutMs)}`);
  if (rule.validate !== undefined) parts.push(`validate ${rule.validate.mode}`);
  return parts.join('; ');
}

/** Every rule of a snapshot, as written (entries) and as combined (pattern, mode, limits). */
export function describeRules(snapshot: PolicySnapshot): unknown {
  return {
    version: snapshot.version,
    grpc: snapshot.grpc.map((r) => ({
      pattern: r.pattern,
      kind: r.kind,
      mode: r.mode,
      rules: r.sources.map((s) => ({ id: s.id, where: s.where, mode: s.mode })),
      deny: r.deny.map((e) => ({ id: e.id, where: e.where, entry: e.source })),
      allow: r.allow.map((e) => ({ id: e.id, where: e.where, entry: e.source })),
      limits: describeLimits(r) || undefined,
    })),
    graphql: snapshot.graphql.map((g) => ({ id: g.id, where: g.where, mode: g.mode, rule: g.rule })),
  };
}
