// The built CLI as a user meets it: every command and subcommand answers --help (exit 0,
// usage on stdout), `version` / `--version` name meshward's, Node's and the dependencies'
// versions, and a reader that goes away (`| head -1`) ends a command quietly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../demo/repo-root.js';
import { meshwardCli, runMeshward } from './support/sidecar-process.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

/** Every command the top-level usage lists, and the subcommands of those that have them. */
async function commandLines(): Promise<string[][]> {
  const top = await runMeshward(['--help']);
  assert.equal(top.code, 0);
  const names = [...top.stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!);
  assert.ok(names.includes('run') && names.includes('policy') && names.includes('version'), top.stdout);
  const lines = [...new Set(names)].map((n) => [n]);
  const subcommands: Record<string, string[]> = { policy: ['lint', 'test', 'explain'], certs: ['init', 'issue'] };
  for (const [cmd, subs] of Object.entries(subcommands)) for (const s of subs) lines.push([cmd, s]);
  return lines;
}

test('every command and subcommand answers --help with exit 0 and its usage on stdout', async () => {
  for (const line of await commandLines()) {
    for (const flag of ['--help', '-h']) {
      const r = await runMeshward([...line, flag]);
      assert.equal(r.code, 0, `meshward ${line.join(' ')} ${flag}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stdout, /usage/i, `meshward ${line.join(' ')} ${flag} prints a usage`);
    }
  }
});

test('version and --version: meshward, Node and every runtime dependency with its installed version', async () => {
  for (const args of [['version'], ['--version']]) {
    const r = await runMeshward(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^meshward +${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^node +${process.versions.node.replace(/\./g, '\\.')}$`, 'm'));
    for (const [name, pinned] of Object.entries(pkg.dependencies)) {
      assert.match(r.stdout, new RegExp(`^${name.replace(/[./]/g, '\\$&')} +${pinned.replace(/\./g, '\\.')}$`, 'm'), name);
    }
  }
  const json = JSON.parse((await runMeshward(['version', '--json'])).stdout) as { meshward: string; dependencies: Record<string, string> };
  assert.equal(json.meshward, pkg.version);
  assert.equal(json.dependencies['graphql'], pkg.dependencies['graphql']);
});

test('a reader that goes away (| head -1) ends the command quietly: no EPIPE stack', async () => {
  const proc = spawn(process.execPath, [meshwardCli, 'version'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.destroy(); // nobody reads stdout any more: every write fails with EPIPE
  const err: Buffer[] = [];
  proc.stderr.on('data', (c: Buffer) => err.push(c));
  const code = await new Promise<number | null>((resolve) => proc.once('close', resolve));
  const stderr = Buffer.concat(err).toString('utf8');
  assert.doesNotMatch(stderr, /EPIPE|Error|at /, stderr);
  assert.equal(code, 0);
});
