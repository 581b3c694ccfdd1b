// The policy rules as data, for the admin view `/policies?rules=1` and the compliance report
// (DESIGN §11: coverage, `*` rules, audit mode, limits, introspection). CONTROL path: built on
// request from the current snapshot; nothing here runs per call.

import type { CompiledEntry, CompiledMethodRule, PolicySnapshot } from './model.js';
import type { LimitKey } from './patterns.js';

export interface EntryView {
  readonly id: string;
  readonly where: string;
  /** Principal patterns as written; undefined = any authenticated peer is not required (`unauthenticated: true`) or only a JWT is asked. */
  readonly principals: readonly string[] | undefined;
  readonly unauthenticated: boolean;
  readonly jwt: { readonly provider: string; readonly claims: readonly string[] } | undefined;
}

export interface GrpcRuleView {
  readonly pattern: string;
  readonly kind: CompiledMethodRule['kind'];
  /** audit only when every contributing policy is in audit mode. */
  readonly mode: CompiledMethodRule['mode'];
  readonly sources: readonly { readonly id: string; readonly policy: string; readonly mode: string; readonly where: string }[];
  readonly allow: readonly EntryView[];
  readonly deny: readonly EntryView[];
  readonly rateLimits: readonly { readonly rule: string; readonly mode: string; readonly requests: number; readonly perMs: number; readonly by: string }[];
  readonly concurrency: readonly { readonly rule: string; readonly mode: string; readonly max: number; readonly queue: number }[];
  readonly bandwidth: readonly { readonly rule: string; readonly mode: string; readonly bytesPerSecond: number; readonly by: string }[];
  readonly maxMessageBytes: number | undefined;
  readonly timeoutMs: number | undefined;
}

export interface GraphqlRuleView {
  readonly id: string;
  readonly policy: string;
  readonly mode: string;
  readonly where: string;
  readonly path: string;
  readonly allow: readonly unknown[];
  /** Who may introspect (entries as written); undefined = nobody (the default). */
  readonly introspectionAllow: readonly unknown[] | undefined;
  readonly limits: Readonly<Record<string, unknown>> | undefined;
  readonly rateLimit: unknown;
  readonly costBudget: unknown;
  readonly fieldRules: number;
}

export interface PolicyRulesView {
  readonly policies: readonly { readonly name: string; readonly mode: string; readonly where: string }[];
  readonly grpc: readonly GrpcRuleView[];
  readonly graphql: readonly GraphqlRuleView[];
}

export function policyRulesView(snapshot: PolicySnapshot): PolicyRulesView {
  return {
    policies: snapshot.policies.map((p) => ({ name: p.name, mode: p.mode, where: p.where })),
    grpc: snapshot.grpc.map(grpcRuleView),
    graphql: snapshot.graphql.map((g) => ({
      id: g.id,
      policy: g.policy,
      mode: g.mode,
      where: g.where,
      path: g.rule.path,
      allow: g.rule.allow ?? [],
      introspectionAllow: g.rule.introspection?.allow,
      limits: g.rule.limits,
      rateLimit: g.rule.rateLimit,
      costBudget: g.rule.costBudget,
      fieldRules: g.rule.fields?.length ?? 0,
    })),
  };
}

function grpcRuleView(r: CompiledMethodRule): GrpcRuleView {
  return {
    pattern: r.pattern,
    kind: r.kind,
    mode: r.mode,
    sources: r.sources.map((s) => ({ id: s.id, policy: s.policy, mode: s.mode, where: s.where })),
    allow: r.allow.map(entryView),
    deny: r.deny.map(entryView),
    rateLimits: r.rateLimits.map((l) => ({ rule: l.rule, mode: l.mode, requests: l.requests, perMs: l.perMs, by: keyText(l.by) })),
    concurrency: r.concurrency.map((c) => ({ rule: c.rule, mode: c.mode, max: c.max, queue: c.queue })),
    bandwidth: r.bandwidth.map((b) => ({ rule: b.rule, mode: b.mode, bytesPerSecond: b.bytesPerSecond, by: keyText(b.by) })),
    maxMessageBytes: r.maxMessageBytes,
    timeoutMs: r.timeoutMs,
  };
}

function entryView(e: CompiledEntry): EntryView {
  return {
    id: e.id,
    where: e.where,
    principals: e.source.principals,
    unauthenticated: e.source.unauthenticated === true,
    jwt: e.jwt === undefined ? undefined : { provider: e.jwt.provider, claims: e.jwt.claims.map((c) => c.path) },
  };
}

function keyText(k: LimitKey): string {
  return k.kind === 'jwt' ? `jwt:${k.claim}` : k.kind;
}
