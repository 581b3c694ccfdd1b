// One sidecar's section of the compliance report, read out of what its admin listener answered
// (collect.ts): identity, mTLS, certificate, relaxed defaults, rules and coverage of declared
// methods, GraphQL endpoints, JWT providers, catalog, alerts, traffic. CONTROL path (CLI), pure.
// Tolerant by design: sidecars of other versions answer with fewer fields; what is missing is
// left undefined and said in `unavailable`.

import { methodPatternMatches, parseMethodPattern, type MethodPattern } from '../policy/patterns.js';
import type { AdminSnapshot } from './collect.js';
import type { AlertRow, CatalogFacts, CertificateFacts, Coverage, GraphqlEndpointRow, RuleRow, SidecarSection } from './report-model.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** A typed list from another sidecar's JSON: an array, or empty when the field is missing. */
const list = <T>(v: readonly T[] | undefined): readonly T[] => (Array.isArray(v) ? v : []);
const DAY_MS = 86_400_000;

/** A policy entry as written (`/policies?rules=1` gives `entry` as in the file). */
interface EntrySource {
  readonly principals?: readonly string[];
  readonly unauthenticated?: boolean;
  readonly jwt?: { readonly provider: string; readonly claims?: Readonly<Record<string, unknown>> };
}

/** One gRPC rule of `/policies?rules=1` (policy/describe-rule.ts `describeRules`). */
interface GrpcRuleJson {
  readonly pattern: string;
  readonly mode: string;
  readonly rules?: readonly { readonly id: string; readonly where: string; readonly mode: string }[];
  readonly allow?: readonly { readonly id: string; readonly entry: EntrySource }[];
  readonly deny?: readonly { readonly id: string; readonly entry: EntrySource }[];
  /** `rateLimit 5 per 1s by principal [audit]; concurrency 16 (queue 64); timeout 5s`. */
  readonly limits?: string;
}

export function sidecarSection(s: AdminSnapshot, now: number): SidecarSection {
  const view = obj(s.config);
  const config = obj(view?.config);
  const identity = obj(config?.identity);
  const inbound = obj(config?.inbound);
  const audit = obj(config?.audit);
  const version = obj(view?.version);
  const unavailable = [...s.unavailable];
  const rows = s.rules === undefined ? undefined : (arr(s.rules.grpc) as GrpcRuleJson[]).map(ruleRow);
  const graphqlRules = arr(s.rules?.graphql).map((g) => obj(g) ?? {});
  const declared = declaredMethods(s.catalog);
  const spiffeId = str(identity?.spiffeId);
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
    policies: policiesOf(s.rules),
    rules: rows,
    coverage: rows === undefined ? undefined : coverage(rows, declared),
    graphql: graphqlRules.map(graphqlRow),
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
  const cert = obj(obj(obj(view?.config)?.identity)?.certificate);
  let notAfter = str(cert?.notAfter);
  if (notAfter === undefined && metrics !== undefined) {
    const m = /^meshward_certificate_expiry_seconds(?:\{[^}]*\})? (\S+)$/m.exec(metrics);
    if (m !== null && Number.isFinite(Number(m[1]))) notAfter = new Date(Number(m[1]) * 1000).toISOString();
  }
  if (notAfter === undefined) return undefined;
  const notBefore = str(cert?.notBefore);
  const end = Date.parse(notAfter);
  const start = notBefore === undefined ? NaN : Date.parse(notBefore);
  const lifetimeLeft = Number.isFinite(start) && end > start ? Math.max(0, Math.min(1, (end - now) / (end - start))) : undefined;
  return { notBefore, notAfter, lifetimeLeft, daysLeft: Math.floor(((end - now) / DAY_MS) * 10) / 10 };
}

function ruleRow(r: GrpcRuleJson): RuleRow {
  const limits = typeof r.limits === 'string' && r.limits !== '' ? r.limits.split('; ') : [];
  const audited = limits.filter((l) => l.endsWith(' [audit]'));
  return {
    pattern: String(r.pattern),
    policies: [...new Set(list(r.rules).map((x) => policyOf(x.id)))],
    mode: String(r.mode),
    where: list(r.rules).map((x) => String(x.where)).join(', '),
    allow: entriesText(list(r.allow).map((e) => e.entry)),
    deny: entriesText(list(r.deny).map((e) => e.entry)),
    limits: limits.length === 0 ? 'none' : limits.join('; '),
    auditedLimits: audited,
    hasRateLimit: limits.some((l) => l.startsWith('rateLimit ') && !l.endsWith(' [audit]')),
  };
}

/** "orders:grpc[0]" → "orders". */
const policyOf = (ruleId: string): string => String(ruleId).split(':')[0]!;

/** The policies behind the rules, with their mode and where their first rule is. */
function policiesOf(rules: Obj | undefined): SidecarSection['policies'] {
  const seen = new Map<string, { name: string; mode: string; where: string }>();
  const sources = [...arr(rules?.grpc).flatMap((g) => arr(obj(g)?.rules)), ...arr(rules?.graphql)].map((x) => obj(x) ?? {});
  for (const x of sources) {
    const name = policyOf(String(x.id));
    if (!seen.has(name)) seen.set(name, { name, mode: String(x.mode), where: String(x.where ?? '') });
  }
  return [...seen.values()];
}

function entriesText(entries: readonly (EntrySource | undefined)[]): string {
  if (entries.length === 0) return '—';
  return entries
    .map((e) => {
      const who = e?.unauthenticated === true ? 'anyone, plaintext included' : e?.principals === undefined ? 'any authenticated peer' : e.principals.map((p) => (p === '*' ? '* (any authenticated peer)' : p)).join(', ');
      const claims = e?.jwt?.claims === undefined ? [] : Object.keys(e.jwt.claims);
      return e?.jwt === undefined ? who : `${who} + jwt ${e.jwt.provider}${claims.length > 0 ? ` (${claims.join(', ')})` : ''}`;
    })
    .join('; ');
}

/** Declared gRPC methods of /catalog, if it has any (strings or objects with a method name). */
export function declaredMethods(catalog: unknown): string[] | undefined {
  const c = obj(catalog);
  if (c === undefined || !('declared' in c)) return undefined;
  // A sidecar without catalog.protos declares no gRPC method at all: unknown, not "none" (issue 16's /catalog says so per source).
  const sources = arr(c.sources).map((x) => obj(obj(x)?.declarations));
  if (sources.length > 0 && sources.every((d) => d?.grpc === false)) return undefined;
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
      return { name: typeof item === 'string' ? item : nameOf(o) ?? '?', calls: num('calls'), refused: num('refusedUndeclared') ?? num('refused') };
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

function graphqlRow(g: Obj): GraphqlEndpointRow {
  const rule = obj(g.rule) ?? {};
  const intro = arr(obj(rule.introspection)?.allow) as EntrySource[];
  const limits = obj(rule.limits);
  return {
    path: String(rule.path ?? '/graphql'),
    policy: policyOf(String(g.id)),
    mode: String(g.mode),
    introspection: intro.length === 0 ? 'off' : entriesText(intro),
    introspectionToAnyone: intro.some((e) => e.unauthenticated === true || e.principals?.includes('*') === true),
    limits: limits === undefined ? 'defaults' : Object.entries(limits).map(([k, v]) => `${k} ${String(v)}`).join(', '),
  };
}

/**
 * Coverage of the declared methods by the rules (DESIGN §11): which have no rule, which only a
 * `*` rule covers, which fall under a rule in audit mode, which have no enforced rate limit. The
 * rules come most specific first (as the snapshot orders them), so the first match decides.
 */
export function coverage(rules: readonly RuleRow[], declared: readonly string[] | undefined): Coverage {
  const parsed = rules
    .map((rule) => ({ rule, p: parseMethodPattern(rule.pattern) }))
    .filter((x): x is { rule: RuleRow; p: { ok: true; value: MethodPattern } } => x.p.ok)
    .map((x) => ({ rule: x.rule, pattern: x.p.value }));
  if (declared === undefined) {
    return {
      declared: undefined,
      withoutRule: [],
      onlyWildcard: [],
      inAuditMode: rules.filter((r) => r.mode === 'audit').map((r) => r.pattern),
      withoutRateLimit: rules.filter((r) => !r.hasRateLimit).map((r) => r.pattern),
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
    if (!match.rule.hasRateLimit) withoutRateLimit.push(method);
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

