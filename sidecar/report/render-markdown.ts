// The compliance report as Markdown (`--format markdown`): the same sections as the HTML page,
// for a pull request comment or a wiki. CONTROL path (CLI), pure.

import type { ComplianceReport, SidecarSection } from './report-model.js';
import { SEVERITIES } from './report-model.js';

/** A table cell: pipes escaped, line breaks flattened. */
const cell = (v: unknown): string => String(v ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const code = (v: unknown): string => `\`${String(v ?? '').replace(/`/g, "'")}\``;

function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

export function renderMarkdown(r: ComplianceReport): string {
  const out: string[] = [];
  out.push('# meshward compliance report', '');
  out.push(`Generated ${r.generatedAt} by meshward ${r.generator.meshward} on Node.js ${r.generator.node}; ${r.summary.sidecars} sidecar(s), ${r.summary.reachable} reachable; ${r.summary.auditLogs} audit log(s) checked.`, '');
  out.push(SEVERITIES.map((s) => `**${s}**: ${r.summary.findings[s]}`).join(' · '), '');
  out.push('## Findings', '');
  out.push(r.findings.length === 0 ? 'No findings.' : table(['Severity', 'Finding', 'Concerns', 'Fix'], r.findings.map((f) => [f.severity.toUpperCase(), `**${f.title}** — ${f.detail} (${code(f.id)})`, f.subject ?? '—', f.fix])), '');
  out.push('## Sidecars', '');
  out.push(
    table(
      ['Identity', 'Admin', 'mTLS', 'Certificate expires', 'meshward / Node.js'],
      r.sidecars.map((s) => [s.spiffeId ?? '—', s.admin, s.reachable ? s.mtls ?? '—' : 'UNREACHABLE', s.certificate === undefined ? '—' : `${s.certificate.notAfter} (${s.certificate.daysLeft} days)`, `${s.versions.meshward ?? '—'} / ${s.versions.node ?? '—'}`]),
    ),
    '',
  );
  for (const s of r.sidecars) out.push(...sidecar(s));
  out.push('## Audit log integrity', '');
  out.push(
    r.audit.length === 0
      ? '_No audit files given (--audit FILE): integrity not checked._'
      : table(['Files', 'Chain', 'Records', 'Hash', 'First broken record / last hash'], r.audit.map((a) => [a.files.join(', '), a.ok ? 'intact' : 'BROKEN', `${a.records}${a.firstSeq === undefined ? '' : ` (seq ${a.firstSeq}..${a.lastSeq})`}`, a.keyed ? 'HMAC-SHA-256' : 'SHA-256', a.broken ?? a.lastHash ?? ''])),
    '',
  );
  out.push('## Software', '');
  out.push(`This report: meshward ${r.generator.meshward}, Node.js ${r.generator.node}.`, '');
  if (r.sbom.source === undefined) out.push(`_${r.sbom.note ?? 'No SBOM.'}_`, '');
  else out.push(`SBOM ${code(r.sbom.source)} (${r.sbom.format}, ${r.sbom.components.length} components):`, '', table(['Component', 'Version', 'License'], r.sbom.components.map((c) => [c.name, c.version, c.licenses])), '');
  return out.join('\n') + '\n';
}

function sidecar(s: SidecarSection): string[] {
  const out = [`### Sidecar ${code(s.spiffeId ?? s.admin)}`, ''];
  if (!s.reachable) return [...out, `_Not reachable: ${s.error}_`, ''];
  out.push(`- admin ${code(s.admin)}; mTLS **${s.mtls ?? '—'}**; meshward ${s.versions.meshward ?? '—'} on Node.js ${s.versions.node ?? '—'}`);
  if (s.certificate !== undefined) out.push(`- certificate: ${s.certificate.notBefore ?? '?'} → ${s.certificate.notAfter} (${s.certificate.daysLeft} days left${s.certificate.lifetimeLeft === undefined ? '' : `, ${Math.round(s.certificate.lifetimeLeft * 100)}% of lifetime`})`);
  out.push(`- relaxed defaults: ${s.relaxedDefaults.length === 0 ? 'none' : s.relaxedDefaults.join('; ')}`);
  out.push(`- audit log: ${s.audit.file ?? '—'} (${s.audit.keyed ? 'HMAC-SHA-256' : 'SHA-256, no key'})`);
  out.push(`- policy snapshot ${s.policy.version ?? '—'} (${s.policy.sources.length} files)${s.policy.lastError === undefined ? '' : `; last reload rejected: ${s.policy.lastError.join('; ')}`}`, '');
  if (s.rules === undefined) out.push('_Rules not available (GET /policies?rules=1)._', '');
  else if (s.rules.length > 0) out.push(table(['Pattern', 'Policies', 'Mode', 'Allow', 'Deny', 'Limits'], s.rules.map((x) => [code(x.pattern), x.policies.join(', '), x.mode, x.allow, x.deny, x.limits])), '');
  const c = s.coverage;
  if (c !== undefined) {
    if (c.declared === undefined) out.push('Declared methods unknown (no /catalog); per rule:', '');
    else out.push(`${c.declared.length} declared gRPC methods; without a rule: ${c.withoutRule.join(', ') || 'none'}; only under \`*\`: ${c.onlyWildcard.join(', ') || 'none'}.`, '');
    out.push(`In audit mode: ${c.inAuditMode.join(', ') || 'none'}. Without an enforced rate limit: ${c.withoutRateLimit.join(', ') || 'none'}.`, '');
  }
  if (s.graphql.length > 0) out.push(table(['GraphQL path', 'Policy', 'Mode', 'Introspection', 'Limits'], s.graphql.map((g) => [g.path, g.policy, g.mode, g.introspection, g.limits])), '');
  if (s.jwtProviders.length > 0) out.push(table(['JWT provider', 'Issuer', 'Algorithms', 'Audiences'], s.jwtProviders.map((p) => [p.name, p.issuer, p.algorithms.join(', '), p.audiences.join(', ')])), '');
  if (s.catalog !== undefined) out.push(`Catalog: shadow ${s.catalog.shadow.map((x) => x.name).join(', ') || 'none'}; zombie ${s.catalog.zombie.join(', ') || 'none'}; deprecated in use ${s.catalog.deprecatedInUse.join(', ') || 'none'}.`, '');
  if (s.alerts !== undefined) out.push(`Active alerts: ${s.alerts.map((a) => `${a.alertname} (${a.severity})`).join(', ') || 'none'}.`, '');
  if (s.unavailable.length > 0) out.push('Not available:', '', ...s.unavailable.map((u) => `- ${u}`), '');
  return out;
}
