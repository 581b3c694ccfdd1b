// `meshward certs` against a temp directory: files, modes and exit codes.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCertsCommand } from './certs.js';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'meshward-certs-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCertsCommand(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

test('init then issue writes the CA, the leaf and the bundle', async () => {
  const caDir = join(root, 'ca');
  const outDir = join(root, 'workload');
  const init = await run('init', '--dir', caDir, '--trust-domain', 'cluster.local', '--days', '10');
  assert.equal(init.code, 0, init.err);
  assert.match(init.out, /ca\.crt/);
  assert.equal(await modeOf(join(caDir, 'ca.key')), 0o600);

  const issue = await run('issue', '--ca-dir', caDir, '--spiffe-id', 'spiffe://cluster.local/ns/a/sa/b', '--out', outDir, '--hours', '2');
  assert.equal(issue.code, 0, issue.err);
  assert.match(issue.out, /tls\.crt/);
  assert.equal(await modeOf(join(outDir, 'tls.key')), 0o600);

  const caPem = await readFile(join(caDir, 'ca.crt'), 'utf8');
  assert.equal(await readFile(join(outDir, 'ca.crt'), 'utf8'), caPem);
  const leaf = new X509Certificate(await readFile(join(outDir, 'tls.crt')));
  assert.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/a/sa/b');
  assert.ok(leaf.verify(new X509Certificate(caPem).publicKey));
  const hours = (Date.parse(leaf.validTo) - Date.now()) / 3_600_000;
  assert.ok(hours > 1.9 && hours <= 2, `leaf valid for ${hours} h`);

  // --name, and re-issuing replaces the files (rotation) with the key still 0600.
  const named = await run('issue', '--ca-dir', caDir, '--spiffe-id', 'spiffe://cluster.local/ns/a/sa/c', '--out', outDir, '--name', 'svc');
  assert.equal(named.code, 0, named.err);
  assert.equal(await modeOf(join(outDir, 'svc.key')), 0o600);
});

test('init refuses to overwrite unless --force, and --force resets the key mode', async () => {
  const dir = join(root, 'force');
  assert.equal((await run('init', '--dir', dir, '--trust-domain', 'td')).code, 0);
  const first = await readFile(join(dir, 'ca.crt'), 'utf8');
  const again = await run('init', '--dir', dir, '--trust-domain', 'td');
  assert.equal(again.code, 1);
  assert.match(again.err, /refusing to overwrite/);
  assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), first);

  await writeFile(join(dir, 'ca.key'), 'x', { mode: 0o644 });
  const forced = await run('init', '--dir', dir, '--trust-domain', 'td', '--force');
  assert.equal(forced.code, 0, forced.err);
  assert.notEqual(await readFile(join(dir, 'ca.crt'), 'utf8'), first);
  assert.equal(await modeOf(join(dir, 'ca.key')), 0o600);
});

test('issue fails (exit 1) for a SPIFFE ID outside the CA trust domain or a missing CA', async () => {
  const caDir = join(root, 'td-ca');
  assert.equal((await run('init', '--dir', caDir, '--trust-domain', 'cluster.local')).code, 0);
  const wrong = await run('issue', '--ca-dir', caDir, '--spiffe-id', 'spiffe://other.local/ns/a', '--out', join(root, 'wrong'));
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /trust domain "other\.local".*"cluster\.local"/);
  await assert.rejects(stat(join(root, 'wrong', 'tls.crt')));

  const missing = await run('issue', '--ca-dir', join(root, 'nope'), '--spiffe-id', 'spiffe://td/a', '--out', join(root, 'wrong'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /cannot read/);
});

test('usage errors exit 2, --help exits 0', async () => {
  const usage: string[][] = [
    [],
    ['frobnicate'],
    ['init'],
    ['init', '--dir', join(root, 'u')],
    ['init', '--dir', join(root, 'u'), '--trust-domain', 'td', '--bogus'],
    ['init', '--dir', join(root, 'u'), '--trust-domain', 'td', 'extra'],
    ['init', '--dir', join(root, 'u'), '--trust-domain', 'TD'],
    ['init', '--dir', join(root, 'u'), '--trust-domain', 'td', '--days', '0'],
    ['init', '--dir', join(root, 'u'), '--trust-domain', 'td', '--days', '1.5'],
    ['init', '--dir'],
    ['issue', '--ca-dir', root, '--out', root],
    ['issue', '--ca-dir', root, '--out', root, '--spiffe-id', 'spiffe://td/a/'],
    ['issue', '--ca-dir', root, '--out', root, '--spiffe-id', 'spiffe://td/a', '--name', '../x'],
    ['issue', '--ca-dir', root, '--out', root, '--spiffe-id', 'spiffe://td/a', '--name', 'ca'],
    ['issue', '--ca-dir', root, '--out', root, '--spiffe-id', 'spiffe://td/a', '--hours', 'ten'],
  ];
  for (const argv of usage) {
    const r = await run(...argv);
    assert.equal(r.code, 2, `${JSON.stringify(argv)} → ${r.code}: ${r.err}`);
    assert.match(r.err, /Usage:/);
  }
  await assert.rejects(stat(join(root, 'u')));
  for (const argv of [['--help'], ['init', '--help'], ['issue', '-h']]) {
    const r = await run(...argv);
    assert.equal(r.code, 0);
    assert.match(r.out, /meshward certs init/);
  }
});
