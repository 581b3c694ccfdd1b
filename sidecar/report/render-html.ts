// The compliance report as one self-contained HTML page (DESIGN §11): no scripts, fonts, images
// or styles from anywhere else, and print styles so the browser's "save as PDF" gives a clean
// document (A4, tables that keep their header row and never split a row). CONTROL path (CLI), pure.

import type { AuditSection, ComplianceReport, Finding, SidecarSection } from './report-model.js';
import { SEVERITIES } from './report-model.js';

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
:root { --critical: #8b0000; --high: #c2410c; --medium: #a16207; --low: #1d4ed8; --ok: #15803d; --line: #d4d4d8; --muted: #52525b; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #18181b; margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid #18181b; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 6px; } h4 { font-size: 14px; margin: 14px 0 4px; }
p.meta, .muted { color: var(--muted); } code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; } th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f4f4f5; font-weight: 600; } td { overflow-wrap: anywhere; }
.sev { display: inline-block; white-space: nowrap; min-width: 64px; text-align: center; font-weight: 700; font-size: 12px; padding: 1px 6px; border-radius: 3px; color: #fff; text-transform: uppercase; }
.sev.critical { background: var(--critical); } .sev.high { background: var(--high); } .sev.medium { background: var(--medium); } .sev.low { background: var(--low); } .sev.ok { background: var(--ok); }
.summary { display: flex; gap: 10px; flex-wrap: wrap; margin: 12px 0; } .summary div { border: 1px solid var(--line); border-radius: 4px; padding: 6px 12px; }
.summary b { font-size: 20px; display: block; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; } dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.note { border-left: 4px solid var(--line); padding: 2px 10px; color: var(--muted); margin: 6px 0; }
section.sidecar { border-top: 1px solid var(--line); }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { max-width: none; padding: 0; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; } h3, h4 { break-after: avoid; }
  tr, .summary div, dl.facts { break-inside: avoid; } thead { display: table-header-group; }
  section.sidecar, #audit { break-before: page; }
  a { color: inherit; text-decoration: none; }
}`;

export function renderHtml(r: ComplianceReport): string {
  const counts = SEVERITIES.map((s) => `<div><span class="sev ${s}">${s}</span><b>${r.summary.findings[s]}</b></div>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>meshward compliance report — ${esc(r.generatedAt)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>meshward compliance report</h1>
<p class="meta">Generated ${esc(r.generatedAt)} by meshward ${esc(r.generator.meshward)} on Node.js ${esc(r.generator.node)} ·
${r.summary.sidecars} sidecar${r.summary.sidecars === 1 ? '' : 's'} (${r.summary.reachable} reachable) · ${r.summary.auditLogs} audit log${r.summary.auditLogs === 1 ? '' : 's'} checked</p>
<div class="summary">${counts}</div>
</header>
<main>
<h2 id="findings">Findings</h2>
${findingsTable(r.findings)}
<h2 id="sidecars">Sidecars</h2>
${sidecarsOverview(r.sidecars)}
${r.sidecars.map(sidecarSection).join('\n')}
<h2 id="audit">Audit log integrity</h2>
${auditTable(r.audit)}
<h2 id="software">Software: meshward, Node.js and dependencies</h2>
${software(r)}
</main>
</body>
</html>
`;
}

function findingsTable(findings: readonly Finding[]): string {
  if (findings.length === 0) return '<p><span class="sev ok">ok</span> No findings.</p>';
  const rows = findings
    .map((f) => `<tr class="finding ${f.severity}"><td><span class="sev ${f.severity}">${f.severity}</span></td><td><b>${esc(f.title)}</b><br><span class="muted">${esc(f.detail)}</span><br><code>${esc(f.id)}</code></td><td>${esc(f.subject ?? '—')}</td><td>${esc(f.fix)}</td></tr>`)
    .join('\n');
  return `<table class="findings"><thead><tr><th style="width:96px">Severity</th><th>Finding</th><th style="width:22%">Concerns</th><th style="width:26%">Fix</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function sidecarsOverview(sidecars: readonly SidecarSection[]): string {
  if (sidecars.length === 0) return '<p class="muted">No sidecars given (--admin).</p>';
  const rows = sidecars
    .map((s) => {
      const cert = s.certificate === undefined ? '—' : `${esc(s.certificate.notAfter)} (${s.certificate.daysLeft} days${s.certificate.lifetimeLeft === undefined ? '' : `, ${Math.round(s.certificate.lifetimeLeft * 100)}% of lifetime left`})`;
      return `<tr><td class="mono">${esc(s.spiffeId ?? '—')}</td><td class="mono">${esc(s.admin)}</td><td style="white-space:nowrap">${s.reachable ? esc(s.mtls ?? '—') : `<span class="sev high">unreachable</span>`}</td><td>${cert}</td><td>${esc(s.versions.meshward ?? '—')} / ${esc(s.versions.node ?? '—')}</td></tr>`;
    })
    .join('\n');
  return `<table><thead><tr><th>Identity (SPIFFE ID)</th><th>Admin</th><th>mTLS</th><th>Certificate expires</th><th>meshward / Node.js</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function auditTable(audit: readonly AuditSection[]): string {
  if (audit.length === 0) return '<p class="note">No audit files given (--audit FILE): integrity not checked.</p>';
  const rows = audit
    .map((a) => `<tr><td class="mono">${a.files.map(esc).join('<br>')}</td><td>${a.ok ? '<span class="sev ok">intact</span>' : '<span class="sev critical">broken</span>'}</td><td>${a.records}${a.firstSeq === undefined ? '' : ` (seq ${a.firstSeq}..${a.lastSeq})`}</td><td>${a.keyed ? 'HMAC-SHA-256' : 'SHA-256'}</td><td class="mono">${esc(a.broken ?? (a.lastHash === undefined ? '' : `last hash ${a.lastHash}`))}</td></tr>`)
    .join('\n');
  return `<table><thead><tr><th>Files (in chain order)</th><th>Chain</th><th>Records</th><th>Hash</th><th>First broken record / last hash</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function software(r: ComplianceReport): string {
  const versions = r.sidecars
    .filter((s) => s.reachable)
    .map((s) => `<li><code>${esc(s.spiffeId ?? s.admin)}</code>: meshward ${esc(s.versions.meshward ?? 'unknown')}, Node.js ${esc(s.versions.node ?? 'unknown')}</li>`)
    .join('');
  const sbom = r.sbom;
  const head = `<ul>${versions}<li>this report: meshward ${esc(r.generator.meshward)}, Node.js ${esc(r.generator.node)}</li></ul>`;
  if (sbom.source === undefined) return `${head}<p class="note">${esc(sbom.note)}</p>`;
  const rows = sbom.components.map((c) => `<tr><td class="mono">${esc(c.name)}</td><td>${esc(c.version)}</td><td>${esc(c.licenses)}</td></tr>`).join('\n');
  return `${head}<p>SBOM: <code>${esc(sbom.source)}</code> (${esc(sbom.format)}, ${sbom.components.length} components; the JSON report carries the whole document).</p>
<table class="sbom"><thead><tr><th>Component</th><th>Version</th><th>License</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function sidecarSection(s: SidecarSection): string {
  const title = `<h3>Sidecar <code>${esc(s.spiffeId ?? s.admin)}</code></h3>`;
  if (!s.reachable) return `<section class="sidecar">${title}<p class="note">Not reachable: ${esc(s.error)}</p></section>`;
  const cert = s.certificate;
  const facts: Array<[string, string]> = [
    ['Admin', `<code>${esc(s.admin)}</code>`],
    ['SPIFFE ID', `<code>${esc(s.spiffeId ?? '—')}</code>`],
    ['mTLS', esc(s.mtls ?? '—')],
    ['Certificate', cert === undefined ? '—' : `${cert.notBefore === undefined ? '' : `${esc(cert.notBefore)} → `}${esc(cert.notAfter)} (${cert.daysLeft} days left${cert.lifetimeLeft === undefined ? '' : `, ${Math.round(cert.lifetimeLeft * 100)}% of lifetime`})`],
    ['Versions', `meshward ${esc(s.versions.meshward ?? '—')}, Node.js ${esc(s.versions.node ?? '—')}${s.workers === undefined ? '' : `, ${s.workers} worker${s.workers === 1 ? '' : 's'}`}`],
    ['Relaxed defaults', s.relaxedDefaults.length === 0 ? 'none' : s.relaxedDefaults.map(esc).join('<br>')],
    ['Audit log', `${esc(s.audit.file ?? '—')} (${s.audit.keyed ? 'HMAC-SHA-256 chain' : 'SHA-256 chain, no key'})`],
    ['Policy snapshot', `${esc(s.policy.version ?? '—')}, loaded ${esc(s.policy.loadedAt ?? '—')}, ${s.policy.sources.length} file${s.policy.sources.length === 1 ? '' : 's'}${s.policy.lastError === undefined ? '' : `; <b>last reload rejected</b>: ${esc(s.policy.lastError.join('; '))}`}`],
  ];
  if (s.traffic !== undefined) facts.push(['Decisions so far', Object.entries(s.traffic.decisions).map(([k, v]) => `${esc(k)} ${v}`).join(', ') || 'none']);
  const parts = [title, `<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`];
  parts.push('<h4>Policy rules (gRPC)</h4>', rulesTable(s));
  parts.push('<h4>Coverage of declared methods</h4>', coverageBlock(s));
  parts.push('<h4>GraphQL endpoints</h4>', s.graphql.length === 0 ? '<p class="muted">No GraphQL rules.</p>' : table(['Path', 'Policy', 'Mode', 'Introspection', 'Limits'], s.graphql.map((g) => [g.path, g.policy, g.mode, g.introspection, g.limits])));
  parts.push('<h4>JWT providers</h4>', s.jwtProviders.length === 0 ? '<p class="muted">None configured.</p>' : table(['Name', 'Issuer', 'Algorithms', 'Audiences'], s.jwtProviders.map((p) => [p.name, p.issuer, p.algorithms.join(', '), p.audiences.join(', ')])));
  parts.push('<h4>API catalog</h4>', catalogBlock(s));
  parts.push('<h4>Active alerts</h4>', s.alerts === undefined ? '<p class="note">Not available from this sidecar (see below).</p>' : s.alerts.length === 0 ? '<p>None.</p>' : table(['Alert', 'Severity', 'Summary', 'Since'], s.alerts.map((a) => [a.alertname, a.severity, a.summary, a.startsAt])));
  if (s.unavailable.length > 0) parts.push('<h4>Not available</h4>', `<ul>${s.unavailable.map((u) => `<li class="muted">${esc(u)}</li>`).join('')}</ul>`);
  return `<section class="sidecar">\n${parts.join('\n')}\n</section>`;
}

function rulesTable(s: SidecarSection): string {
  if (s.rules === undefined) return '<p class="note">Rules not available from this sidecar (GET /policies?rules=1).</p>';
  if (s.rules.length === 0) return '<p>No gRPC rules: every gRPC call is denied by default.</p>';
  return table(['Pattern', 'Policies', 'Mode', 'Allow', 'Deny', 'Limits'], s.rules.map((r) => [r.pattern, r.policies.join(', '), r.mode, r.allow, r.deny, r.limits]));
}

function coverageBlock(s: SidecarSection): string {
  const c = s.coverage;
  if (c === undefined) return '<p class="note">Not assessed: no rules from this sidecar.</p>';
  const items: string[] = [];
  if (c.declared === undefined) items.push('<p class="note">Declared methods unknown (no API catalog from GET /catalog): coverage is shown per rule.</p>');
  else items.push(`<p>${c.declared.length} declared gRPC method${c.declared.length === 1 ? '' : 's'}.</p>`);
  const row = (label: string, list: readonly string[]): string => `<tr><td>${label}</td><td>${list.length}</td><td class="mono">${list.map(esc).join(', ') || '—'}</td></tr>`;
  const rows = [
    ...(c.declared === undefined ? [] : [row('Without a rule', c.withoutRule), row('Only under a <code>*</code> rule', c.onlyWildcard)]),
    row('Under a rule in audit mode', c.inAuditMode),
    row(c.declared === undefined ? 'Rules without an enforced rate limit' : 'Without an enforced rate limit', c.withoutRateLimit),
  ];
  return `${items.join('')}<table><thead><tr><th style="width:30%">Coverage</th><th style="width:8%">Count</th><th>Methods</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function catalogBlock(s: SidecarSection): string {
  const c = s.catalog;
  if (c === undefined) return '<p class="note">Not available from this sidecar (see below): shadow, zombie and deprecated APIs not assessed.</p>';
  return table(
    ['Kind', 'Count', 'APIs'],
    [
      ['Shadow (called, not declared)', String(c.shadow.length), c.shadow.map((x) => x.name + (x.calls === undefined ? '' : ` (${x.calls} calls${x.refused === undefined ? '' : `, ${x.refused} refused`})`)).join(', ') || '—'],
      ['Zombie (declared, never called)', String(c.zombie.length), c.zombie.join(', ') || '—'],
      ['Deprecated, still called', String(c.deprecatedInUse.length), c.deprecatedInUse.join(', ') || '—'],
    ],
  );
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
}
