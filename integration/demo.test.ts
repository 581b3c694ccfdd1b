// The README's first command must keep working: run the built demo and check its verdict; the
// compliance report it writes (and names) renders in headless Chromium and says what it found.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../demo/repo-root.js';
import { launchChromium, renderFile } from './support/browser.js';

test('npm run demo: every check as expected, exit 0; its compliance report renders in Chromium', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(repoRoot, 'dist', 'demo', 'demo.js')], { timeout: 90_000 });
  assert.match(stdout, /all \d+ checks as expected/);
  assert.doesNotMatch(stdout, /✘/);
  for (const kind of ['unary', 'server streaming', 'client streaming', 'bidi streaming']) assert.match(stdout, new RegExp(`✔ ${kind}`));
  assert.match(stdout, /OK: \d+ records intact \(SHA-256\)/);

  const reportFile = /^compliance report: (\S+\.html) /m.exec(stdout)?.[1];
  assert.ok(reportFile !== undefined && existsSync(reportFile), `the demo names the report it wrote:\n${stdout}`);
  const browser = await launchChromium();
  try {
    const page = await renderFile(browser, reportFile, join(repoRoot, '.demo', 'report.png'));
    assert.deepEqual(page.otherRequests, [], 'self-contained: the page loads nothing else');
    assert.ok(page.screenshot.length > 10_000);
    assert.equal(page.pdf.subarray(0, 5).toString(), '%PDF-');
    assert.match(page.text, /meshward compliance report/);
    assert.match(page.text, /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/orders/); // the demo sidecar's identity
    assert.match(page.text, /Policy echo-trial is in audit mode/); // policies/echo-trial.yaml
    assert.match(page.text, /Audit log integrity[\s\S]*intact/i);
    assert.match(page.text, /CycloneDX 1\.5, \d+ components/);
    assert.match(page.text, /corp\s+http:\/\/127\.0\.0\.1:\d+\s+RS256, ES256/); // the JWT provider and its algorithms
  } finally {
    await browser.close();
  }
});
