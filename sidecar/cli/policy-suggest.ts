// `meshward policy suggest --admin URL... | --catalog FILE... [--name NAME] [--out FILE]`
// (DESIGN §2, §13): a least-privilege policy from the traffic the sidecars observed, as
// commented YAML on stdout (or --out). CONTROL path (CLI). Exit 0; 2 usage, or no catalog.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mergeCatalogViews } from '../catalog/catalog-merge.js';
import { suggestPolicy } from '../catalog/policy-suggest.js';
import { readCatalogs } from './catalog-input.js';
import type { PolicyIo } from './policy-io.js';

export const SUGGEST_USAGE = `  meshward policy suggest (--admin URL... | --catalog FILE...) [--name NAME] [--out FILE]

suggest  writes a least-privilege policy from observed traffic (GET /catalog of each
         sidecar, or saved catalog JSON): per gRPC method only the principals seen calling
         it with an allowed or audit_deny outcome, a rate limit by principal at twice the
         observed peak, mode: audit. Review, test, then switch it to enforce.`;

export async function runPolicySuggest(args: string[], io: PolicyIo): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      options: {
        admin: { type: 'string', multiple: true },
        catalog: { type: 'string', multiple: true },
        name: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  if (values.help === true) {
    io.out(`Usage:\n${SUGGEST_USAGE}`);
    return 0;
  }
  const admins = values.admin ?? [];
  const files = values.catalog ?? [];
  if (admins.length === 0 && files.length === 0) return usage(io, 'suggest needs --admin URL or --catalog FILE');
  const name = values.name ?? 'suggested';
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) return usage(io, `--name must be a lowercase name such as "orders-suggested", not "${name}"`);

  const { views, problems } = await readCatalogs(admins, files);
  for (const p of problems) io.err(`meshward policy suggest: cannot read ${p}`);
  if (views.length === 0) return 2;
  // Peaks: the highest one sidecar saw (each sidecar enforces its own limit).
  const yaml = suggestPolicy(mergeCatalogViews(views, 'max'), { name });
  if (values.out === undefined) io.out(yaml.trimEnd());
  else writeFileSync(values.out, yaml);
  return 0;
}

function usage(io: PolicyIo, message: string): number {
  io.err(`meshward policy suggest: ${message}`);
  io.err(`Usage:\n${SUGGEST_USAGE}`);
  return 2;
}
