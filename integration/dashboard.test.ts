// The dashboard (DESIGN §12) in a real browser: headless Chromium (Debian's, driven by
// playwright-core) opens GET / on the built sidecar's admin listener while the test drives
// calls; the per-method row and the refusals appear live, the header shows this sidecar,
// nothing is loaded from anywhere but the admin listener, no script error or CSP violation
// happens, in light and dark. Screenshots go to $MESHWARD_SCREENSHOT_DIR (default: a temp dir).

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serverId } from './support/tls-fixtures.js';
import { ALLOWED_METHOD, DENIED_METHOD, JAEGER_URL, LIMITED_METHOD, startTrafficFixture, type TrafficFixture } from './support/traffic-fixture.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let t: TrafficFixture;
let browser: Browser;
let shots: string;

before(async () => {
  t = await startTrafficFixture('dashboard');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  shots = process.env.MESHWARD_SCREENSHOT_DIR ?? (await mkdtemp(join(tmpdir(), 'meshward-dashboard-')));
  await mkdir(shots, { recursive: true });
});
after(async () => {
  await browser?.close();
  await t?.close();
});

interface Watched {
  page: Page;
  /** Console errors, page errors, CSP violations and requests to other origins. */
  problems: string[];
}

async function open(colorScheme: 'light' | 'dark'): Promise<Watched> {
  const context = await browser.newContext({ colorScheme, viewport: { width: 1360, height: 1000 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  const origin = new URL(t.adminUrl).origin;
  page.on('console', (m) => {
    // A 404 of /catalog or /alerts is logged by the browser too; it is checked below.
    const expected404 = /\/(catalog|alerts)$/.test(m.location().url ?? '') && /404/.test(m.text());
    if ((m.type() === 'error' && !expected404) || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (new URL(r.url()).origin !== origin) problems.push(`request to another origin: ${r.url()}`);
  });
  // /catalog and /alerts belong to other features: absent here, answered 404, shown as such.
  page.on('response', (r) => {
    if (r.status() >= 400 && !/\/(catalog|alerts)$/.test(new URL(r.url()).pathname)) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  return { page, problems };
}

const overview = async (): Promise<{ policies: { lastError?: unknown } }> => (await fetch(`${t.adminUrl}/overview`)).json() as never;

async function until(condition: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Drives calls of every kind until `done` resolves (bounded). */
async function traffic(done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.finally(() => (finished = true));
  const deadline = Date.now() + 20_000;
  while (!finished && Date.now() < deadline) {
    await t.drive({ allowed: 5, denied: 1, limited: 1 });
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the dashboard shows this sidecar, the live method table and refusals (light)', async () => {
  await t.drive({ denied: 1 }); // before the page opens: shown from /refusals
  const { page, problems } = await open('light');
  const response = await page.goto(t.adminUrl, { waitUntil: 'load' });
  assert.equal(response?.status(), 200);
  assert.equal(response?.headers()['content-security-policy'], "default-src 'self'");
  await page.waitForSelector('#live.pill-live', { timeout: 10_000 });

  const methodRow = page.waitForSelector(`#methods tbody tr[data-method="${ALLOWED_METHOD}"]`, { timeout: 20_000 });
  const limitedRow = page.waitForSelector(`#methods tbody tr[data-method="${LIMITED_METHOD}"]`, { timeout: 20_000 });
  const refusal = page.waitForSelector(`#refusals tbody tr[data-method="${DENIED_METHOD}"]`, { timeout: 20_000 });
  const shown = Promise.all([methodRow, limitedRow, refusal]);
  await Promise.all([shown, traffic(shown)]);
  // One more second of table refresh so the counts are settled for the checks and the picture.
  await page.waitForTimeout(1100);

  const cells = await page.$$eval(`#methods tbody tr[data-method="${ALLOWED_METHOD}"] td`, (tds) => tds.map((td) => td.textContent ?? ''));
  assert.equal(cells[0], ALLOWED_METHOD);
  assert.ok(Number(cells[2]!.replace(/,/g, '')) > 0, `allowed: ${cells.join(' | ')}`);
  assert.equal(cells[3], '0', 'none denied');
  assert.match(cells[5]!, /^\d+\.\d\d$/, 'p50 ms');
  assert.match(cells[7]!, /ns\/web\/sa\/frontend ×\d+/, 'top caller');
  const limited = await page.$$eval(`#methods tbody tr[data-method="${LIMITED_METHOD}"] td`, (tds) => tds.map((td) => td.textContent ?? ''));
  assert.ok(Number(limited[4]) > 0, `limited: ${limited.join(' | ')}`);

  const refusalCells = await page.$$eval(`#refusals tbody tr[data-method="${DENIED_METHOD}"]`, (trs) => trs[0]!.textContent ?? '');
  assert.match(refusalCells, /no_allow_match/);
  const traceHref = await page.$eval(`#refusals tbody tr[data-method="${DENIED_METHOD}"] a`, (a) => (a as HTMLAnchorElement).href);
  assert.match(traceHref, new RegExp(`^${JAEGER_URL}/trace/[0-9a-f]{32}$`));

  assert.equal(await page.textContent('#identity'), serverId());
  assert.match((await page.textContent('#cert-expiry')) ?? '', /^expires in \d+ (d|h|min)/);
  assert.equal(await page.textContent('#mtls'), 'strict');
  assert.match((await page.textContent('#policy-version')) ?? '', /^[0-9a-f]{12}$/);
  assert.equal(await page.isHidden('#policy-error'), true);
  // The API catalog (issue 16): the summary of this sidecar's /catalog.
  assert.match((await page.textContent('#catalog')) ?? '', /^Declared\d+Observed\d+Shadow \(called, not declared\)\d+Zombie/);
  // /alerts exists (issue 18); nothing fires here: new callers only after alerts.learnFor (10 min).
  assert.match((await page.textContent('#alerts')) ?? '', /No active alerts\./);

  const file = join(shots, 'dashboard.png');
  await page.screenshot({ path: file, fullPage: true });
  assert.ok((await stat(file)).size > 10_000);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('dark: the same page in the dark palette; a failed policy reload shows its error', async () => {
  const { page, problems } = await open('dark');
  await page.goto(t.adminUrl, { waitUntil: 'load' });
  await page.waitForSelector('#live.pill-live', { timeout: 10_000 });
  const shown = page.waitForSelector(`#methods tbody tr[data-method="${ALLOWED_METHOD}"]`, { timeout: 20_000 });
  await Promise.all([shown, traffic(shown)]);
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, 'rgb(15, 20, 27)', 'the dark palette');

  // A policy change that does not load: the previous snapshot stays, the page says why.
  const broken = join(t.policyDir, 'broken.yaml');
  await writeFile(broken, 'apiVersion: meshward.dev/v1alpha1\nkind: Policy\nmetadata: { name: broken }\nspec:\n  grpc:\n    - methods: ["Nope"]\n');
  await until(async () => (await overview()).policies.lastError !== undefined);
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('#policy-error:not([hidden])', { timeout: 10_000 });
  assert.match((await page.textContent('#policy-error-problems')) ?? '', /broken\.yaml:\d+:\d+: .*Nope/);
  await page.screenshot({ path: join(shots, 'dashboard-dark.png'), fullPage: true });
  await rm(broken);
  await until(async () => (await overview()).policies.lastError === undefined);
  assert.deepEqual(problems, []);
  await page.context().close();
});
