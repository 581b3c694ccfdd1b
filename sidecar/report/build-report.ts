// Assembles the compliance report (DESIGN §11) from its sources: each sidecar's admin listener
// (collect.ts → sidecar-facts.ts), the audit logs (verify-chain.ts) and the SBOM (sbom.ts), then
// ranks the findings (findings.ts). CONTROL path (CLI).

import { verifyChain } from '../audit/verify-chain.js';
import { packageInfo } from '../core/package-info.js';
import { collectAdmin } from './collect.js';
import { auditFindings, countBySeverity, rankFindings, sbomFindings, sidecarFindings } from './findings.js';
import type { AuditSection, ComplianceReport } from './report-model.js';
import { loadSbom } from './sbom.js';
import { sidecarSection } from './sidecar-facts.js';

export interface ReportInputs {
  /** Admin base URLs, one per sidecar. */
  readonly admins: readonly string[];
  /** Audit logs: each is one writer's files in chain order (oldest first). */
  readonly auditLogs: readonly (readonly string[])[];
  readonly hmacKey?: Buffer | undefined;
  /** A CycloneDX file; default: the installed package's dist/sbom.cdx.json. */
  readonly sbomFile?: string | undefined;
  readonly now?: number;
  readonly fetchFn?: typeof fetch;
}

export async function buildReport(inputs: ReportInputs): Promise<ComplianceReport> {
  const now = inputs.now ?? Date.now();
  const snapshots = await Promise.all(inputs.admins.map((a) => collectAdmin(a, inputs.fetchFn)));
  const sidecars = snapshots.map((s) => sidecarSection(s, now));
  const audit = inputs.auditLogs.map((files) => auditSection(files, inputs.hmacKey));
  const sbom = loadSbom(inputs.sbomFile);
  const findings = rankFindings([...audit.flatMap(auditFindings), ...sidecars.flatMap((s) => sidecarFindings(s, now)), ...sbomFindings(sbom)]);
  return {
    reportVersion: 1,
    generatedAt: new Date(now).toISOString(),
    generator: { meshward: packageInfo().version, node: process.version },
    summary: { sidecars: sidecars.length, reachable: sidecars.filter((s) => s.reachable).length, auditLogs: audit.length, findings: countBySeverity(findings) },
    findings,
    sidecars,
    audit,
    sbom,
  };
}

function auditSection(files: readonly string[], key: Buffer | undefined): AuditSection {
  const r = verifyChain(files, { key });
  const first = r.files.find((f) => f.firstSeq !== undefined)?.firstSeq;
  return {
    files,
    keyed: key !== undefined,
    ok: r.ok,
    records: r.records,
    firstSeq: first,
    lastSeq: r.lastSeq,
    lastHash: r.lastHash,
    broken: r.broken === undefined ? undefined : `${r.broken.file}:${r.broken.line}: ${r.broken.kind}: ${r.broken.message}`,
  };
}
