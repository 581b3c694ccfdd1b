// One sidecar's section of the compliance report, read out of what its admin listener answered
// (collect.ts): identity, mTLS, certificate, relaxed defaults, rules and coverage of declared
// methods, GraphQL endpoints, JWT providers, catalog, alerts, traffic. CONTROL path (CLI), pure.
// Tolerant by design: sidecars of other versions answer with fewer fields; what is missing is
// left undefined and said in `unavailable`.

import { methodPatternMatches, parseMethodPattern, type MethodPattern } from '../policy/patterns.js';
import type { EntryView, GrpcRuleView, GraphqlRuleView } from '../policy/rules-view.js';
import type { AdminSnapshot } from './collect.js';
import type { AlertRow, CatalogFacts, CertificateFacts, Coverage, GraphqlEndpointRow, RuleRow, SidecarSection } from './report-model.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** A typed list from another sidecar's JSON: an array, or empty when the field is missing. */
const list = <T>(v: readonly T[] | undefined): readonly T[] => (Array.isArray(v) ? v : []);
const DAY_MS = 86_400_000;

export function sidecarSection(s: AdminSnapshot, now: number): SidecarSection {
  const view = obj(s.config);
  const config = obj(view?.config);
  const identity = obj(config?.identity);
  const inbound = obj(config?.inbound);
  const audit = obj(config?.audit);
  const version = obj(view?.version);
  const rulesView = obj(obj(s.policies)?.rules);
  const unavailable = [...s.unavailable];
  if (s.error === undefined && s.policies !== undefined && rulesView === undefined) unavailable.push('GET /policies?rules=1: no rules in the answer (a meshward without the rules view): coverage not assessed');
  const grpc = rulesView === undefined ? undefined : (arr(rulesView.grpc) as GrpcRuleView[]);
  const declared = declaredMethods(s.catalog);
  const spiffeId = str(obj(view?.workload)?.spiffeId) ?? str(identity?.spiffeId);
  return {
    admin: s.admin,
    reachable: s.error === undefined,
    error: s.error,
    spiffeId,
    mtls: str(inbound?.mtls),
    certificate: certificateFacts(view, s.metrics, now),
    versions: { meshward: str(version?.meshward), node: str(version?.node) },
    relaxedDefaults: arr(view?.relaxedDefaults).filter((r): r is string => typeof r === 'string'),
    workers: typeof config?.workers === 'number' ? config.workers : undefined,
    audit: { file: str(audit?.file), keyed: typeof audit?.hmacKeyFile === 'string' },
    catalogConfig: obj(config?.catalog) === undefined ? undefined : { protos: arr(obj(config?.catalog)?.protos).length, undeclared: str(obj(config?.catalog)?.undeclared) },
    policy: {
      version: str(s.policies?.version),
      sources: arr(s.policies?.sources).filter((x): x is string => typeof x === 'string'),
      loadedAt: str(s.policies?.loadedAt),
      lastError: s.policies?.lastError === undefined || s.policies.lastError === null ? undefined : arr(obj(s.policies.lastError)?.problems).map(String),
    },
    policies: arr(rulesView?.policies).map((p) => ({ name: String(obj(p)?.name), mode: String(obj(p)?.mode), where: String(obj(p)?.where ?? '') })),
    rules: grpc?.map(ruleRow),
    coverage: grpc === undefined ? undefined : coverage(grpc, declared),
    graphql: arr(rulesView?.graphql).map((g) => graphqlRow(g as GraphqlRuleView)),
    jwtProviders: arr(obj(config?.jwt)?.providers).map((p) => {
      const o = obj(p) ?? {};
      return { name: String(o.name), issuer: String(o.issuer), algorithms: arr(o.algorithms).map(String), audiences: arr(o.audiences).map(String) };
    }),
    catalog: catalogFacts(s.catalog),
    alerts: alertRows(s.alerts),
    traffic: s.metrics === undefined ? undefined : { decisions: sumBy(s.metrics, 'meshward_policy_decisions_total', 'decision') },
    unavailable,
  };
}

/** The workload certificate: notBefore/notAfter from /config, else the expiry gauge of /metrics. */
function certificateFacts(view: Obj | undefined, metrics: string | undefined, now: number): CertificateFacts | undefined {
  const workload = obj(view?.workload);
  const identityCert = obj(obj(obj(view?.config)?.identity)?.certificate);
  let notAfter = str(workload?.notAfter) ?? str(identityCert?.notAfter);
  if (notAfter === undefined && metrics !== undefined) {
    const m = /^meshward_certificate_expiry_seconds(?:\{[^}]*\})? (\S+)$/m.exec(metrics);
    if (m !== null && Number.isFinite(Number(m[1]))) notAfter = new Date(Number(m[1]) * 1000).toISOString();
  }
  if (notAfter === undefined) return undefined;
  const notBefore = str(workload?.notBefore);
  const end = Date.parse(notAfter);
  const start = notBefore === undefined ? NaN : Date.parse(notBefore);
  const lifetimeLeft = Number.isFinite(start) && end > start ? Math.max(0, Math.min(1, (end - now) / (end - start))) : undefined;
  return { notBefore, notAfter, lifetimeLeft, daysLeft: Math.floor(((end - now) / DAY_MS) * 10) / 10 };
}

function ruleRow(r: GrpcRuleView): RuleRow {
  const audited = [
    ...list(r.rateLimits).filter((l) => l.mode === 'audit').map((l) => `rateLimit (${l.rule})`),
    ...list(r.concurrency).filter((l) => l.mode === 'audit').map((l) => `concurrency (${l.rule})`),
    ...list(r.bandwidth).filter((l) => l.mode === 'audit').map((l) => `bandwidth (${l.rule})`),
  ];
  const limits = [
    ...list(r.rateLimits).map((l) => `${l.requests}/${duration(l.perMs)} by ${l.by}${l.mode === 'audit' ? ' (audit)' : ''}`),
    ...list(r.concurrency).map((c) => `concurrency ${c.max}${c.queue > 0 ? ` + queue ${c.queue}` : ''}${c.mode === 'audit' ? ' (audit)' : ''}`),
    ...list(r.bandwidth).map((b) => `${b.bytesPerSecond} B/s by ${b.by}${b.mode === 'audit' ? ' (audit)' : ''}`),
    ...(r.maxMessageBytes === undefined || r.maxMessageBytes === null ? [] : [`maxMessageBytes ${r.maxMessageBytes}`]),
    ...(r.timeoutMs === undefined || r.timeoutMs === null ? [] : [`timeout ${duration(r.timeoutMs)}`]),
  ];
  return {
    pattern: String(r.pattern),
    policies: [...new Set(list(r.sources).map((s) => String(s.policy)))],
    mode: String(r.mode),
    where: list(r.sources).map((s) => String(s.where)).join(', '),
    allow: entriesText(list(r.allow)),
    deny: entriesText(list(r.deny)),
    limits: limits.length === 0 ? 'none' : limits.join('; '),
    auditedLimits: audited,
    hasRateLimit: list(r.rateLimits).some((l) => l.mode !== 'audit'),
  };
}

function entriesText(entries: readonly EntryView[]): string {
  if (entries.length === 0) return '—';
  return entries
    .map((e) => {
      const who = e.unauthenticated ? 'anyone, plaintext included' : e.principals === undefined || e.principals === null ? 'any authenticated peer' : e.principals.map((p) => (p === '*' ? '* (any authenticated peer)' : p)).join(', ');
      return e.jwt === undefined || e.jwt === null ? who : `${who} + jwt ${e.jwt.provider}${e.jwt.claims.length > 0 ? ` (${e.jwt.claims.join(', ')})` : ''}`;
    })
    .join('; ');
}

/** Declared gRPC methods of /catalog, if it has any (strings or objects with a method name). */
export function declaredMethods(catalog: unknown): string[] | undefined {
  const c = obj(catalog);
  if (c === undefined || !('declared' in c)) return undefined;
  return namesOf(c.declared).filter((n) => n.includes('/'));
}

function namesOf(list: unknown): string[] {
  const o = obj(list);
  if (o !== undefined) {
    // { grpc: [...], graphql: [...] } or { "pkg.S/M": {...} }
    const parts = ['grpc', 'graphql', 'methods', 'fields'].filter((k) => k in o);
    return parts.length > 0 ? parts.flatMap((k) => namesOf(o[k])) : Object.keys(o);
  }
  return arr(list)
    .map((item) => (typeof item === 'string' ? item : nameOf(obj(item))))
    .filter((n): n is string => n !== undefined);
}

function nameOf(o: Obj | undefined): string | undefined {
  if (o === undefined) return undefined;
  for (const k of ['method', 'name', 'fullName', 'field', 'coordinate']) if (typeof o[k] === 'string') return o[k] as string;
  return undefined;
}

function catalogFacts(catalog: unknown): CatalogFacts | undefined {
  const c = obj(catalog);
  if (c === undefined) return undefined;
  const shadowList = obj(c.shadow) === undefined ? arr(c.shadow) : Object.entries(obj(c.shadow)!).map(([k, v]) => ({ ...obj(v), name: k }));
  return {
    shadow: shadowList.map((item) => {
      const o = obj(item);
      const num = (k: string): number | undefined => (typeof o?.[k] === 'number' ? (o[k] as number) : undefined);
      return { name: typeof item === 'string' ? item : nameOf(o) ?? '?', calls: num('calls'), refused: num('refused') ?? num('refusedCalls') };
    }),
    zombie: namesOf(c.zombie),
    deprecatedInUse: namesOf(c.deprecatedInUse),
  };
}

function alertRows(alerts: unknown): AlertRow[] | undefined {
  if (alerts === undefined) return undefined;
  const list = Array.isArray(alerts) ? alerts : arr(obj(alerts)?.alerts);
  return list.map((a) => {
    const o = obj(a) ?? {};
    const labels = obj(o.labels) ?? {};
    const annotations = obj(o.annotations) ?? {};
    return { alertname: String(labels.alertname ?? '?'), severity: String(labels.severity ?? '?'), summary: String(annotations.summary ?? ''), startsAt: String(o.startsAt ?? '') };
  });
}

function graphqlRow(g: GraphqlRuleView): GraphqlEndpointRow {
  const intro = g.introspectionAllow === undefined || g.introspectionAllow === null ? [] : (g.introspectionAllow as EntryView[]);
  const anyone = intro.some((e) => e.unauthenticated || e.principals?.includes('*'));
  const limits = obj(g.limits);
  return {
    path: String(g.path),
    policy: String(g.policy),
    mode: String(g.mode),
    introspection: intro.length === 0 ? 'off' : entriesText(intro.map((e) => ({ ...e, id: '', where: '', unauthenticated: e.unauthenticated === true, jwt: e.jwt ?? undefined }))),
    introspectionToAnyone: anyone,
    limits: limits === undefined ? 'defaults' : Object.entries(limits).map(([k, v]) => `${k} ${String(v)}`).join(', '),
  };
}

/**
 * Coverage of the declared methods by the rules (DESIGN §11): which have no rule, which only a
 * `*` rule covers, which fall under a rule in audit mode, which have no enforced rate limit. The
 * rules come most specific first (as the snapshot orders them), so the first match decides.
 */
export function coverage(rules: readonly GrpcRuleView[], declared: readonly string[] | undefined): Coverage {
  const parsed = rules
    .map((r) => ({ r, p: parseMethodPattern(String(r.pattern)) }))
    .filter((x): x is { r: GrpcRuleView; p: { ok: true; value: MethodPattern } } => x.p.ok)
    .map((x) => ({ rule: x.r, pattern: x.p.value }));
  const enforcedRate = (r: GrpcRuleView): boolean => list(r.rateLimits).some((l) => l.mode !== 'audit');
  if (declared === undefined) {
    return {
      declared: undefined,
      withoutRule: [],
      onlyWildcard: [],
      inAuditMode: rules.filter((r) => r.mode === 'audit').map((r) => String(r.pattern)),
      withoutRateLimit: rules.filter((r) => !enforcedRate(r)).map((r) => String(r.pattern)),
    };
  }
  const withoutRule: string[] = [];
  const onlyWildcard: string[] = [];
  const inAuditMode: string[] = [];
  const withoutRateLimit: string[] = [];
  for (const method of declared) {
    const match = parsed.find((x) => methodPatternMatches(x.pattern, method));
    if (match === undefined) {
      withoutRule.push(method);
      continue;
    }
    if (match.pattern.kind === 'any') onlyWildcard.push(method);
    if (match.rule.mode === 'audit') inAuditMode.push(method);
    if (!enforcedRate(match.rule)) withoutRateLimit.push(method);
  }
  return { declared, withoutRule, onlyWildcard, inAuditMode, withoutRateLimit };
}

/** Sums a Prometheus counter by one label (the text format as meshward writes it). */
function sumBy(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const value = new RegExp(`(?:^|,)${label}="([^"]*)"`).exec(m[1]!)?.[1] ?? '';
    out[value] = (out[value] ?? 0) + Number(m[2]);
  }
  return out;
}

function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
