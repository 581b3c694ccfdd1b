// The tamper-evident audit log (DESIGN §11) with the built sidecar: the chain holds across a
// SIGHUP reopen after rotation and across a restart that continues the file; with `workers: 2`
// the primary writes one chain with every worker's records; `meshward audit verify` accepts the
// files in order and names the line of each kind of tampering.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { readAudit } from './support/audit-file.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { closeAllClients, echoClient, unary } from './support/grpc-clients.js';
import { runMeshward, startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, makePki, type Pki } from './support/tls-fixtures.js';

const PERMISSION_DENIED = 7;

let dir: string;
let pki: Pki;
let app: EchoApp;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-audit-chain-'));
  pki = await makePki(join(dir, 'pki'));
  app = await startEchoApp();
  await writeFile(join(dir, 'audit.key'), 'an audit key of at least 16 bytes, for tests\n');
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app.close();
});

/** `n` calls no policy allows (default deny), each on its own connection so workers share them. */
async function denied(sidecar: SidecarProcess, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const client = echoClient(sidecar.inbound, clientTls(pki, pki.client), { servername: 'orders' });
    const r = await unary(client, { message: `call ${i}` });
    assert.equal(r.status, PERMISSION_DENIED);
    client.close();
  }
}

async function auditCount(file: string, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await readAudit(file)).length >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`${file}: fewer than ${n} audit records after 5 s`);
}

async function sidecarWith(name: string, extra: string): Promise<{ config: string; log: string }> {
  const sub = join(dir, name);
  await mkdir(sub);
  const config = await writeSidecarConfig(sub, { appPort: app.port, pki, extra: `audit: { file: audit.log, hmacKeyFile: ${JSON.stringify(join(dir, 'audit.key'))} }\n${extra}` });
  return { config, log: join(sub, 'audit.log') };
}

const verify = (...args: string[]) => runMeshward(['audit', 'verify', '--hmac-key-file', join(dir, 'audit.key'), ...args]);

test('the chain holds across SIGHUP after rotation and across a restart; verify names tampered lines', async () => {
  const { config, log } = await sidecarWith('single', '');
  let sidecar = await startSidecar(config);
  await denied(sidecar, 3);
  await auditCount(log, 3);

  await rename(log, `${log}.1`);
  sidecar.proc.kill('SIGHUP');
  await sidecar.waitForStderr((_l, j) => j?.msg === 'reopening log files');
  await denied(sidecar, 2);
  await auditCount(log, 2);
  assert.equal(await sidecar.stop(), 0);

  sidecar = await startSidecar(config);
  await denied(sidecar, 2);
  await auditCount(log, 4);
  assert.equal(await sidecar.stop(), 0);

  const rotated = await readAudit(`${log}.1`);
  const live = await readAudit(log);
  assert.deepEqual(rotated.map((r) => r.seq), [1, 2, 3]);
  assert.deepEqual(live.map((r) => r.seq), [4, 5, 6, 7]);
  assert.equal(rotated[0]!.prev, '');
  assert.equal(live[0]!.prev, rotated[2]!.hash, 'the first record after SIGHUP links to the rotated file');
  assert.equal(live[2]!.prev, live[1]!.hash, 'the first record after the restart continues the file');
  for (const r of [...rotated, ...live]) assert.equal(Object.keys(r).at(-1), 'hash');

  const ok = await verify(`${log}.1`, log);
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /OK: 7 records intact \(HMAC-SHA-256\)/);
  const unkeyed = await runMeshward(['audit', 'verify', `${log}.1`, log]);
  assert.equal(unkeyed.code, 1);
  assert.match(unkeyed.stderr, /audit\.log\.1:1: edited: .*--hmac-key-file/);
  const reversed = await verify(log, `${log}.1`);
  assert.equal(reversed.code, 1);
  assert.match(reversed.stderr, /audit\.log\.1:1: broken-link: /);

  // Tamper with a copy of the live file in each way; verify names the line and what broke.
  const text = await readFile(log, 'utf8');
  const lines = text.split('\n').slice(0, -1);
  const cases: Array<[string, string[], RegExp]> = [
    ['edited', lines.map((l, i) => (i === 1 ? l.replace('"status":7', '"status":0') : l)), /:2: edited: /],
    ['deleted', lines.filter((_, i) => i !== 1), /:2: deleted: .*record 5 is missing/],
    ['reordered', [lines[0]!, lines[2]!, lines[1]!, lines[3]!], /:2: reordered: /],
    ['inserted', [lines[0]!, lines[1]!, lines[1]!, ...lines.slice(2)], /:3: inserted: /],
    ['truncated head', lines.slice(1), /:1: truncated-head: /],
  ];
  for (const [what, edited, expected] of cases) {
    const copy = join(dir, `tampered-${what.replace(' ', '-')}.log`);
    await writeFile(copy, edited.map((l) => l + '\n').join(''));
    const r = await verify(copy);
    assert.equal(r.code, 1, `${what}: ${r.stdout}`);
    assert.match(r.stderr, new RegExp(`tampered-${what.replace(' ', '-')}\\.log${expected.source}`), what);
  }
  const usage = await runMeshward(['audit', 'verify']);
  assert.equal(usage.code, 2);
  const help = await runMeshward(['audit', 'verify', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--hmac-key-file/);
});

test('workers: 2 — the primary writes one chain with both workers records, across SIGHUP', async () => {
  const { config, log } = await sidecarWith('workers', 'workers: 2\n');
  const sidecar = await startSidecar(config, { timeoutMs: 20_000 });
  await denied(sidecar, 6);
  await auditCount(log, 6);
  await rename(log, `${log}.1`);
  sidecar.proc.kill('SIGHUP');
  await sidecar.waitForStderr((_l, j) => j?.msg === 'reopening log files');
  await denied(sidecar, 6);
  await auditCount(log, 6);
  const metrics = await (await fetch(`http://${sidecar.admin}/metrics`)).text();
  assert.match(metrics, /^meshward_audit_records_written_total 12$/m);
  assert.equal(await sidecar.stop(), 0);

  const records = [...(await readAudit(`${log}.1`)), ...(await readAudit(log))];
  assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 12 }, (_, i) => i + 1));
  assert.deepEqual(new Set(records.map((r) => r.worker)), new Set([1, 2]), 'records of both workers, each marked');
  const ok = await verify(`${log}.1`, log);
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
});
