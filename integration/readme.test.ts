// The README's "Try it by hand" as a new user copies it: the shell lines, sidecar.yaml and
// verify-call.mjs are taken from the README itself and run in a fresh folder (which sees this
// checkout's package, build, protos and policies). A README change that breaks the first
// verified call fails here.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../demo/repo-root.js';

const run = promisify(execFile);
let dir: string;
const background: ChildProcess[] = [];

/** The fenced blocks of one README section, in order. */
function blocks(readme: string, heading: string): { lang: string; text: string }[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has a "${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, text: m[2]! }));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-readme-'));
  for (const name of ['package.json', 'node_modules', 'dist', 'proto', 'policies']) await symlink(join(repoRoot, name), join(dir, name));
});

after(async () => {
  for (const p of background) p.kill('SIGTERM');
  await Promise.all(background.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
  await rm(dir, { recursive: true, force: true });
});

async function sh(line: string): Promise<{ stdout: string; stderr: string }> {
  return run('bash', ['-c', line], { cwd: dir, timeout: 60_000 });
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${url} never became ready`);
}

test('Try it by hand: from the README alone to a call whose server is verified by its SPIFFE ID', async () => {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const found = blocks(readme, 'Try it by hand');
  const yaml = found.find((b) => b.lang === 'yaml' && b.text.startsWith('# sidecar.yaml\n'));
  const client = found.find((b) => b.lang === 'js' && b.text.startsWith('// verify-call.mjs'));
  const shells = found.filter((b) => b.lang === 'sh');
  assert.ok(yaml && client && shells.length >= 2, 'the section has the shell steps, sidecar.yaml and verify-call.mjs');
  await writeFile(join(dir, 'sidecar.yaml'), yaml.text);
  await writeFile(join(dir, 'verify-call.mjs'), client.text);

  // Setup: every line as written, except installing and building (this checkout is built);
  // lines ending in "&" start servers that the test stops at the end.
  for (const raw of shells[0]!.text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line === '' || line.startsWith('npm ci')) continue;
    if (line.endsWith('&')) {
      const p = spawn('bash', ['-c', `exec ${line.slice(0, -1)}`], { cwd: dir, stdio: 'ignore' });
      background.push(p);
      continue;
    }
    await sh(line);
  }
  await waitReady('http://127.0.0.1:7000/readyz');

  // The calls: each line (joined over trailing backslashes) as written.
  const calls = shells[1]!.text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.replace(/\s+#[^']*$/, '').trim()).filter((l) => l !== '');
  const verify = calls.find((l) => l.startsWith('node verify-call.mjs'));
  const curl = calls.find((l) => l.startsWith('curl'));
  assert.ok(verify && curl);
  const verified = await sh(verify);
  assert.match(verified.stdout, /^reply: hello \(server verified as spiffe:\/\/cluster\.local\/ns\/shop\/sa\/orders\)$/m);
  for (const line of calls.filter((l) => l !== verify && l !== curl)) await sh(line);
  const viaCurl = await sh(curl);
  assert.match(viaCurl.stdout, /^grpc-status: 0/m, viaCurl.stdout + viaCurl.stderr);
  const reply = await readFile(join(dir, 'reply.bin'));
  assert.ok(reply.includes(Buffer.from('hello')), 'the echo reply carries the message');

  // The client really checks the SPIFFE ID: expecting another workload fails the call.
  await writeFile(join(dir, 'verify-other.mjs'), client.text.replace('spiffe://cluster.local/ns/shop/sa/orders', 'spiffe://cluster.local/ns/shop/sa/payments'));
  await assert.rejects(sh('node verify-other.mjs'), /server is \[spiffe:\/\/cluster\.local\/ns\/shop\/sa\/orders\], expected spiffe:\/\/cluster\.local\/ns\/shop\/sa\/payments/);
});
