// Writes policies/schema/policy.schema.json from the policy zod schema (sidecar/policy/schema.ts),
// the one source of truth. `--check` writes nothing and exits 1 when the checked-in file is stale.
// Usage: node --import tsx scripts/gen-policy-schema.ts [--check]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { policyJsonSchemaText } from '../sidecar/policy/schema.js';

const target = fileURLToPath(new URL('../policies/schema/policy.schema.json', import.meta.url));
const text = policyJsonSchemaText();

if (process.argv.includes('--check')) {
  let current: string | undefined;
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== text) {
    console.error(`${target} is stale: run node --import tsx scripts/gen-policy-schema.ts`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
