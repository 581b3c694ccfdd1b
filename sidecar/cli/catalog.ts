// `meshward catalog --admin URL... [--format table|json|markdown] [--fail-on LIST]` (DESIGN
// §2, §8): the catalogs of many sidecars merged into one cluster view. CONTROL path (CLI).
// Exit 0; 1 when --fail-on names a finding that is present; 2 usage, or no catalog readable.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findings, formatMarkdown, formatTable, type Finding } from '../catalog/catalog-format.js';
import { mergeCatalogViews } from '../catalog/catalog-merge.js';
import { readCatalogs } from './catalog-input.js';

const USAGE = `Usage:
  meshward catalog --admin URL [--admin URL...] [--catalog FILE...] [--format table|json|markdown]
                   [--fail-on shadow,zombie,deprecated] [--out FILE] [--webhook URL]

Reads GET /catalog from each sidecar's admin listener (URL: http://host:port) and prints one
cluster view: declared and observed APIs, shadow APIs (observed, not declared), zombie APIs
(declared, not called) and deprecated APIs in use. --catalog adds saved views (JSON).
--fail-on exits 1 when any of the named findings is present (for CI and cron jobs).
--webhook POSTs the output as JSON {"text": ...} (Slack, Mattermost and most chat webhooks).
A sidecar that cannot be read is reported on stderr and left out; none readable, or the
webhook refused: exit 2.`;

const FINDINGS: readonly Finding[] = ['shadow', 'zombie', 'deprecated'];

export async function runCatalogCommand(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        admin: { type: 'string', multiple: true },
        catalog: { type: 'string', multiple: true },
        format: { type: 'string' },
        'fail-on': { type: 'string' },
        out: { type: 'string' },
        webhook: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return usage((err as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const admins = values.admin ?? [];
  const files = values.catalog ?? [];
  if (admins.length === 0 && files.length === 0) return usage('--admin URL (or --catalog FILE) is required');
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json' && format !== 'markdown') return usage(`--format must be table, json or markdown, not "${format}"`);
  const failOn = (values['fail-on'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = failOn.filter((f) => !FINDINGS.includes(f as Finding));
  if (unknown.length > 0) return usage(`--fail-on takes ${FINDINGS.join(', ')}; not ${unknown.join(', ')}`);

  const { views, problems } = await readCatalogs(admins, files);
  for (const p of problems) process.stderr.write(`meshward catalog: cannot read ${p}\n`);
  if (views.length === 0) return 2;
  const view = mergeCatalogViews(views, 'max');
  const text = format === 'json' ? JSON.stringify(view, null, 2) + '\n' : format === 'markdown' ? formatMarkdown(view) : formatTable(view);
  if (values.out === undefined) process.stdout.write(text);
  else writeFileSync(values.out, text);
  if (values.webhook !== undefined) {
    const posted = await postToWebhook(values.webhook, text);
    if (posted !== undefined) {
      process.stderr.write(`meshward catalog: webhook: ${posted}\n`);
      return 2;
    }
  }

  const found = findings(view);
  const failed = failOn.filter((f) => found[f as Finding] > 0);
  if (failed.length === 0) return 0;
  process.stderr.write(`meshward catalog: found ${failed.map((f) => `${found[f as Finding]} ${f === 'deprecated' ? 'deprecated in use' : f}`).join(', ')}\n`);
  return 1;
}

const WEBHOOK_TIMEOUT_MS = 10_000;

/** POSTs `{"text": ...}`; returns what went wrong, or undefined. The URL is never printed (it is often a secret). */
async function postToWebhook(url: string, text: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await res.arrayBuffer();
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    return (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
  }
}

function usage(message: string): number {
  process.stderr.write(`meshward catalog: ${message}\n${USAGE}\n`);
  return 2;
}
