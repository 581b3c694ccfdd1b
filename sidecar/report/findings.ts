// The compliance report's findings (DESIGN §11): each check turns facts about a sidecar, an
// audit log or the SBOM into findings with a severity and a one-line fix. Severities follow
// DESIGN §11 — critical: an audit chain broken; high: mtls permissive, allowAnyAuthenticated,
// undeclared methods allowed; medium: a policy or limit in audit mode, failMode open,
// introspection allowed to `*`, a certificate within 20% of its lifetime; low: a declared method
// without a rate limit, zombie APIs — and the rest is placed beside the nearest of those.
// CONTROL path (CLI), pure.

import { SEVERITIES, severityRank, type AuditSection, type Finding, type SbomSection, type Severity, type SidecarSection } from './report-model.js';

/** Node.js majors and the end of their security support (nodejs.org release schedule). */
const NODE_END_OF_LIFE: Readonly<Record<number, string>> = { 18: '2025-04-30', 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30' };
/** A certificate with less than this share of its lifetime left is due for rotation (DESIGN §10, §11). */
const CERT_LIFETIME_LEFT = 0.2;
/** Without notBefore, fewer days than this left counts instead. */
const CERT_DAYS_LEFT = 7;
const LIST_MAX = 12;

export function sidecarFindings(s: SidecarSection, now: number): Finding[] {
  const subject = s.spiffeId ?? s.admin;
  const out: Finding[] = [];
  const add = (severity: Severity, id: string, title: string, detail: string, fix: string): void => void out.push({ severity, id, subject, title, detail, fix });
  if (!s.reachable) {
    add('high', 'sidecar-unreachable', 'Sidecar not reachable: nothing about it is in this report', s.error ?? s.admin, `Check the --admin URL (${s.admin}) and that the admin listener is up (GET /readyz).`);
    return out;
  }
  const known: string[] = [];
  if (s.mtls === 'permissive') {
    known.push('inbound.mtls');
    add('high', 'mtls-permissive', 'mTLS is permissive: plaintext callers are accepted (as unauthenticated)', 'inbound.mtls: permissive', 'Set inbound.mtls: strict once every caller presents a certificate.');
  }
  if (s.relaxedDefaults.some((r) => r.startsWith('inbound.allowAnyAuthenticated'))) {
    known.push('inbound.allowAnyAuthenticated');
    add('high', 'allow-any-authenticated', 'Calls no rule matches are allowed for any verified SPIFFE ID', 'inbound.allowAnyAuthenticated: true — default deny is off', 'Write a policy rule per method and remove inbound.allowAnyAuthenticated.');
  }
  if (s.relaxedDefaults.some((r) => r.startsWith('rateLimit.redis.failMode'))) {
    known.push('rateLimit.redis.failMode');
    add('medium', 'fail-open', 'Rate limits fail open: when Redis is unreachable, limits are not enforced', 'rateLimit.redis.failMode: open', 'Set rateLimit.redis.failMode: closed (calls get 14 UNAVAILABLE while the store is down).');
  }
  for (const r of s.relaxedDefaults) {
    if (known.some((k) => r.startsWith(k)) || r.startsWith('inbound.mtls')) continue;
    add('medium', 'relaxed-default', `Secure default relaxed: ${r.split(':')[0]}`, r, 'Restore the secure default unless this relaxation is intended and reviewed.');
  }
  certificateFindings(s, add);
  policyFindings(s, add);
  catalogFindings(s, add);
  for (const a of s.alerts ?? []) {
    const severity: Severity = a.severity === 'critical' ? 'high' : a.severity === 'warning' ? 'medium' : 'low';
    add(severity, 'alert-active', `Active alert ${a.alertname}`, `${a.summary} (since ${a.startsAt})`, 'Look at the alert in /alerts (or Alertmanager) and the trace it names.');
  }
  nodeFinding(s, now, add);
  if (!s.audit.keyed && s.audit.file !== undefined) {
    add('low', 'audit-unkeyed', 'The audit chain uses plain SHA-256: whoever can write the file can rewrite and re-chain it', `audit.file: ${s.audit.file}; no audit.hmacKeyFile`, 'Set audit.hmacKeyFile to a secret the log writer reads and log editors cannot.');
  }
  return out;
}

type Add = (severity: Severity, id: string, title: string, detail: string, fix: string) => void;

function certificateFindings(s: SidecarSection, add: Add): void {
  const c = s.certificate;
  if (c === undefined) return;
  if (c.daysLeft <= 0) {
    add('high', 'certificate-expired', 'The workload certificate has expired', `notAfter ${c.notAfter}`, 'Renew the SVID (cert-manager / SPIRE): identity.certFile is re-read on change.');
  } else if (c.lifetimeLeft !== undefined ? c.lifetimeLeft < CERT_LIFETIME_LEFT : c.daysLeft < CERT_DAYS_LEFT) {
    const left = c.lifetimeLeft === undefined ? `${c.daysLeft} days left` : `${Math.round(c.lifetimeLeft * 100)}% of its lifetime left (${c.daysLeft} days)`;
    add('medium', 'certificate-expiring', 'The workload certificate is due for rotation', `${left}; notAfter ${c.notAfter}`, 'Check that certificate rotation runs: renew before 20% of the lifetime is left.');
  }
}

function policyFindings(s: SidecarSection, add: Add): void {
  if (s.policy.lastError !== undefined) {
    add('medium', 'policy-reload-failed', 'The last policy change was rejected: the sidecar runs an older snapshot', s.policy.lastError.slice(0, 3).join('; '), 'Fix the policy files (meshward policy lint) so the intended policies load.');
  }
  for (const p of s.policies.filter((p) => p.mode === 'audit')) {
    const patterns = (s.rules ?? []).filter((r) => r.policies.includes(p.name)).map((r) => r.pattern);
    add('medium', 'policy-audit-mode', `Policy ${p.name} is in audit mode: what it would deny goes through`, `${p.where}${patterns.length > 0 ? `; rules for ${list(patterns)}` : ''}`, `Set spec.mode: enforce in ${p.name} once its audit_deny records are understood.`);
  }
  for (const r of s.rules ?? []) {
    if (r.auditedLimits.length > 0) add('medium', 'limit-audit-mode', `Limits on ${r.pattern} are in audit mode: counted, not enforced`, r.auditedLimits.join(', '), 'Remove mode: audit from the limit once its audit_deny records show the right threshold.');
    if (r.pattern === '*') add('medium', 'wildcard-rule', 'A `*` rule covers every method, also ones added later', `policies ${r.policies.join(', ')} (${r.where}); allow: ${r.allow}`, 'Name the methods (or package.Service/*) the rule is meant for instead of `*`.');
  }
  for (const g of s.graphql.filter((g) => g.introspectionToAnyone)) {
    add('medium', 'introspection-open', `GraphQL introspection on ${g.path} is allowed to anyone`, `policy ${g.policy}: introspection.allow ${g.introspection}`, 'Allow introspection only to named principals (e.g. spiffe://…/ns/ops/*), or not at all.');
  }
  const cov = s.coverage;
  if (cov === undefined) return;
  if (cov.declared !== undefined && cov.withoutRule.length > 0) {
    const open = s.relaxedDefaults.some((r) => r.startsWith('inbound.allowAnyAuthenticated'));
    add(open ? 'high' : 'low', 'method-without-rule', `${cov.withoutRule.length} declared method${cov.withoutRule.length === 1 ? ' has' : 's have'} no policy rule`, list(cov.withoutRule) + (open ? ' — allowed to any authenticated peer (allowAnyAuthenticated)' : ' — denied by default'), 'Write a rule for each method that should be served, naming who may call it.');
  }
  if (cov.withoutRateLimit.length > 0) {
    const what = cov.declared === undefined ? 'rule' : 'declared method';
    add('low', 'no-rate-limit', `${cov.withoutRateLimit.length} ${what}${cov.withoutRateLimit.length === 1 ? '' : 's'} without an enforced rate limit`, list(cov.withoutRateLimit), 'Add rateLimit (by: principal) to the rules of these methods.');
  }
}

function catalogFindings(s: SidecarSection, add: Add): void {
  const cc = s.catalogConfig;
  if (cc !== undefined && cc.protos > 0 && cc.undeclared === 'allow') {
    add('high', 'undeclared-allowed', 'Calls to undeclared gRPC methods are allowed (only counted)', 'catalog.undeclared: allow', 'Set catalog.undeclared: deny (12 UNIMPLEMENTED before the policy) once the catalog is complete.');
  } else if (cc !== undefined && cc.protos > 0 && cc.undeclared === 'audit') {
    add('medium', 'undeclared-audit', 'Calls to undeclared gRPC methods are forwarded and only recorded', 'catalog.undeclared: audit', 'Set catalog.undeclared: deny once the audit_deny records show no legitimate undeclared calls.');
  }
  const c = s.catalog;
  if (c === undefined) return;
  const served = c.shadow.filter((x) => x.calls === undefined || x.refused === undefined || x.calls > x.refused);
  const refusedOnly = c.shadow.filter((x) => !served.includes(x));
  if (served.length > 0) add('high', 'shadow-api-served', `${served.length} undeclared (shadow) API${served.length === 1 ? ' was' : 's were'} called and not refused`, list(served.map((x) => x.name + (x.calls === undefined ? '' : ` (${x.calls} calls)`))), 'Declare these methods in catalog.protos, or set catalog.undeclared: deny.');
  if (refusedOnly.length > 0) add('low', 'shadow-api-refused', `${refusedOnly.length} undeclared API${refusedOnly.length === 1 ? ' was' : 's were'} tried and refused`, list(refusedOnly.map((x) => `${x.name} (${x.refused} refused)`)), 'Find the callers in the audit log (reason undeclared_method) and fix or block them.');
  if (c.zombie.length > 0) add('low', 'zombie-api', `${c.zombie.length} declared API${c.zombie.length === 1 ? ' is' : 's are'} never called (zombie)`, list(c.zombie), 'Remove the unused methods (and their rules), or confirm who still needs them.');
  if (c.deprecatedInUse.length > 0) add('low', 'deprecated-in-use', `${c.deprecatedInUse.length} deprecated API${c.deprecatedInUse.length === 1 ? ' is' : 's are'} still called`, list(c.deprecatedInUse), 'Move the callers (see the catalog for who) to the replacement, then remove the method.');
}

function nodeFinding(s: SidecarSection, now: number, add: Add): void {
  const major = Number(/^v?(\d+)\./.exec(s.versions.node ?? '')?.[1]);
  const eol = NODE_END_OF_LIFE[major];
  if (eol !== undefined && Date.parse(eol) < now) add('medium', 'node-end-of-life', `Node.js ${major} is past its end of life (${eol})`, `the sidecar runs Node.js ${s.versions.node}`, 'Run the image on Node.js 24 LTS (the Dockerfile default).');
}

export function auditFindings(a: AuditSection): Finding[] {
  const subject = a.files.join(', ');
  if (!a.ok) {
    return [{ severity: 'critical', id: 'audit-chain-broken', subject, title: 'The audit log hash chain is broken', detail: a.broken ?? 'unknown', fix: 'Treat the log as tampered with: preserve it, find who could write it, and compare with the collector copy.' }];
  }
  return [];
}

export function sbomFindings(s: SbomSection): Finding[] {
  if (s.source !== undefined) return [];
  return [{ severity: 'low', id: 'no-sbom', subject: undefined, title: 'No SBOM: the versions of the dependencies are not listed', detail: s.note ?? 'no CycloneDX file found', fix: 'Run npm run sbom (writes dist/sbom.cdx.json) or pass --sbom FILE.' }];
}

/** Worst first; stable within a severity. */
export function rankFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const out = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) out[f.severity]++;
  return out;
}

/** Whether any finding is at or above `threshold` (for --fail-on). */
export function failsAt(findings: readonly Finding[], threshold: Severity): boolean {
  return findings.some((f) => severityRank(f.severity) >= severityRank(threshold));
}

function list(items: readonly string[]): string {
  return items.length <= LIST_MAX ? items.join(', ') : `${items.slice(0, LIST_MAX).join(', ')} and ${items.length - LIST_MAX} more`;
}
