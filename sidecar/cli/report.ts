// `meshward report --admin URL... [--audit FILE[,FILE...]]... [--out FILE] [--format html|json|markdown]
// [--fail-on SEVERITY]` (DESIGN §2, §11): the compliance report of one or many sidecars. CONTROL
// path (CLI). Exit codes: 0, 1 when --fail-on finds a finding at or above it, 2 usage.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildReport } from '../report/build-report.js';
import { failsAt } from '../report/findings.js';
import { renderHtml } from '../report/render-html.js';
import { renderMarkdown } from '../report/render-markdown.js';
import { SEVERITIES, type Severity } from '../report/report-model.js';
import { readHmacKey } from '../telemetry/audit-chain.js';

export interface ReportIo {
  /** Resolves once the text is handed to the OS: a pipe takes 64 KiB at a time, and the CLI exits right after. */
  out: (text: string) => Promise<void>;
  err: (line: string) => void;
}

const processIo: ReportIo = {
  out: (text) => new Promise<void>((resolve) => process.stdout.write(text, () => resolve())),
  err: (line) => process.stderr.write(line + '\n'),
};

const FORMATS = ['html', 'json', 'markdown'] as const;

const USAGE = `Usage:
  meshward report --admin URL [--admin URL...] [--audit FILE[,FILE...]]... [--hmac-key-file FILE]
                  [--out FILE] [--format html|json|markdown] [--fail-on critical|high|medium|low]
                  [--sbom FILE]

A compliance report for a security review: per sidecar its identity, mTLS mode, certificate
expiry, policy rules and their coverage of the declared methods, relaxed defaults, limits,
JWT providers, the API catalog and active alerts (from the admin endpoints /config,
/policies?rules=1, /metrics, /catalog, /alerts); the integrity of audit logs; the versions of
meshward, Node.js and every dependency (SBOM). Findings are ranked critical, high, medium, low,
each with a one-line fix.

  --admin URL        a sidecar's admin listener (http://127.0.0.1:7000); repeat for more sidecars
  --audit FILES      an audit log to verify; several files of one log comma-separated, oldest
                     first (audit.log.1,audit.log); repeat for more logs
  --hmac-key-file F  the key the audit logs were written with (audit.hmacKeyFile)
  --out FILE         write the report there (default: stdout)
  --format F         html (default: one self-contained page, print-friendly), json, markdown
  --fail-on SEV      exit 1 when any finding is at SEV or worse (for CI)
  --sbom FILE        a CycloneDX JSON SBOM (default: dist/sbom.cdx.json from npm run sbom)`;

class UsageError extends Error {}

export async function runReportCommand(argv: string[], io: ReportIo = processIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        admin: { type: 'string', multiple: true },
        audit: { type: 'string', multiple: true },
        'hmac-key-file': { type: 'string' },
        out: { type: 'string', short: 'o' },
        format: { type: 'string' },
        'fail-on': { type: 'string' },
        sbom: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
    if (values.help) {
      await io.out(USAGE + '\n');
      return 0;
    }
    if ((values.admin ?? []).length === 0 && (values.audit ?? []).length === 0) throw new UsageError('give at least one --admin URL (or --audit FILE)');
    if (values.format !== undefined && !(FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${values.format}"`);
    if (values['fail-on'] !== undefined && !(SEVERITIES as readonly string[]).includes(values['fail-on'])) throw new UsageError(`--fail-on must be one of ${SEVERITIES.join(', ')}, not "${values['fail-on']}"`);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`meshward report: ${(err as Error).message}`);
      io.err(USAGE);
      return 2;
    }
    throw err;
  }
  let hmacKey: Buffer | undefined;
  if (values['hmac-key-file'] !== undefined) {
    try {
      hmacKey = readHmacKey(values['hmac-key-file']);
    } catch (err) {
      io.err(`meshward report: ${(err as Error).message}`);
      return 2;
    }
  }
  const report = await buildReport({
    admins: values.admin ?? [],
    auditLogs: (values.audit ?? []).map((a) => a.split(',').filter(Boolean)),
    hmacKey,
    sbomFile: values.sbom,
  });
  const format = (values.format ?? 'html') as (typeof FORMATS)[number];
  const text = format === 'json' ? JSON.stringify(report, null, 2) + '\n' : format === 'markdown' ? renderMarkdown(report) : renderHtml(report);
  const counts = SEVERITIES.map((s) => `${report.summary.findings[s]} ${s}`).join(', ');
  if (values.out === undefined) await io.out(text);
  else {
    try {
      writeFileSync(values.out, text);
    } catch (err) {
      io.err(`meshward report: cannot write ${values.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return 1;
    }
    io.err(`meshward report: wrote ${values.out} (${format}): ${report.findings.length} findings (${counts})`);
  }
  const threshold = values['fail-on'] as Severity | undefined;
  if (threshold !== undefined && failsAt(report.findings, threshold)) {
    io.err(`meshward report: findings at ${threshold} or worse (${counts}): exit 1 (--fail-on ${threshold})`);
    return 1;
  }
  return 0;
}
