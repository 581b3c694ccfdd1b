// Writes docs/schema/sidecar.schema.json and docs/configuration.md from the sidecar config's
// zod schema (sidecar/config/schema.ts), the one source of truth. `--check` writes nothing and
// exits 1 when a checked-in file is stale. Usage: node --import tsx scripts/gen-config-reference.ts [--check]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configurationReferenceMarkdown, sidecarJsonSchemaText } from '../sidecar/config/reference.js';

const outputs: [string, string][] = [
  [fileURLToPath(new URL('../docs/schema/sidecar.schema.json', import.meta.url)), sidecarJsonSchemaText()],
  [fileURLToPath(new URL('../docs/configuration.md', import.meta.url)), configurationReferenceMarkdown()],
];

let stale = 0;
for (const [target, text] of outputs) {
  if (process.argv.includes('--check')) {
    let current: string | undefined;
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== text) {
      console.error(`${target} is stale: run npm run docs:config`);
      stale++;
    }
  } else {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
process.exit(stale === 0 ? 0 : 1);
