// The README's first command must keep working: run the built demo and check its verdict.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../demo/repo-root.js';

test('npm run demo: every check as expected, exit 0', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(repoRoot, 'dist', 'demo', 'demo.js')], { timeout: 60_000 });
  assert.match(stdout, /all \d+ checks as expected/);
  assert.doesNotMatch(stdout, /✘/);
  for (const kind of ['unary', 'server streaming', 'client streaming', 'bidi streaming']) assert.match(stdout, new RegExp(`✔ ${kind}`));
});
