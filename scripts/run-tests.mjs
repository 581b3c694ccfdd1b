// Runs every *.test.ts under the test roots with node:test (via tsx). Node 20 does not
// expand globs for --test, so the file list is built here and passed explicitly.
// Usage: node scripts/run-tests.mjs [unit|integration|all] (default all)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const roots = { unit: ['sidecar', 'demo'], integration: ['integration'] };
const which = process.argv[2] ?? 'all';
const dirs = which === 'all' ? [...roots.unit, ...roots.integration] : roots[which];
if (dirs === undefined) {
  console.error(`unknown test set "${which}" (unit | integration | all)`);
  process.exit(2);
}

function find(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...find(p));
    else if (entry.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = dirs.flatMap(find).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
console.log(`node ${process.version}: ${files.length} test files`);
// Human-readable spec output on stdout; TAP to a file, read back for one closing line
// that looks the same on Node 20 and Node 24 ("N passed, N failed, N skipped").
const tapDir = mkdtempSync(join(tmpdir(), 'meshward-tap-'));
const tapFile = join(tapDir, 'results.tap');
const result = spawnSync(
  process.execPath,
  [
    '--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
const tap = readFileSync(tapFile, 'utf8');
rmSync(tapDir, { recursive: true, force: true });
const count = (name) => Number(tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
console.log(`\nnode ${process.version}\ntests: ${passed} passed, ${failed} failed, ${count('skipped')} skipped`);
process.exit(result.status === 0 && failed === 0 && passed > 0 ? 0 : 1);
