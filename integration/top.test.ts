// `meshward top` end to end (DESIGN §12): --once prints one table of the calls made while it
// listened; at a terminal (a pseudo-terminal from util-linux `script`) it redraws in place,
// with colour, until Ctrl-C.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCli } from './support/cli-process.js';
import { runMeshward } from './support/sidecar-process.js';
import { ALLOWED_METHOD, DENIED_METHOD, LIMITED_METHOD, startTrafficFixture, type TrafficFixture } from './support/traffic-fixture.js';

let t: TrafficFixture;

before(async () => {
  t = await startTrafficFixture('top');
});
after(async () => {
  await t?.close();
});

const row = (lines: string[], method: string): string[] | undefined => lines.find((l) => l.startsWith(`${method} `))?.trim().split(/\s{2,}/);

test('--once: one table of the calls made while it listened, busiest method first', async () => {
  const top = startCli(['top', '--admin', t.adminUrl, '--once', '--interval', '3s']);
  await top.waitForLine('stderr', /^collecting calls for 3s/);
  await t.drive({ allowed: 12, denied: 3, limited: 2 });
  assert.equal(await top.exited(), 0, top.stderr.join('\n'));
  const lines = top.stdout;
  assert.match(lines[0]!, /^meshward top {2}http:\/\/127\.0\.0\.1:\d+ {2}last \d+ s {2}18 calls {2}\d\d:\d\d:\d\d$/);
  assert.match(lines[1]!, /^METHOD +CALLS\/S +ALLOWED +DENIED +LIMITED +P50 MS +P99 MS +TOP CALLERS$/);
  const allowed = row(lines, ALLOWED_METHOD)!;
  assert.deepEqual(allowed.slice(2, 5), ['12', '0', '0']);
  assert.match(allowed[7]!, /^ns\/web\/sa\/frontend ×12$/);
  assert.deepEqual(row(lines, DENIED_METHOD)!.slice(2, 5), ['0', '3', '0']);
  // 1 call an hour: the first of the three may pass (if no test before used it), the others are limited.
  const limited = row(lines, LIMITED_METHOD)!.slice(2, 5).map(Number);
  assert.equal(limited[0]! + limited[2]!, 3);
  assert.ok(limited[2]! >= 2 && limited[1] === 0, String(limited));
  assert.ok(lines.indexOf(lines.find((l) => l.startsWith(ALLOWED_METHOD))!) === 2, 'busiest first');
  for (const l of lines) assert.doesNotMatch(l, /\x1b\[/);
});

test('at a terminal: redrawn in place with colour until Ctrl-C', async () => {
  const top = startCli(['top', '--admin', t.adminUrl, '--interval', '500ms'], { tty: true });
  await top.waitForLine('stdout', /following http:\/\/127\.0\.0\.1:\d+; Ctrl-C to stop/);
  await t.drive({ allowed: 3, denied: 2 });
  await top.waitForLine('stdout', new RegExp(`${DENIED_METHOD.replace(/\./g, '\\.')}.*\\x1b\\[31m +2\\x1b\\[0m`));
  const screen = top.stdout.join('\n');
  assert.match(screen, /\x1b\[H\x1b\[2Jmeshward top /, 'cursor home + clear before each table');
  assert.match(screen, /\x1b\[1mMETHOD +CALLS\/S/, 'bold header');
  top.proc.kill('SIGINT');
  assert.equal(await top.exited(), 0);
});

test('--help, usage errors', async () => {
  const help = await runMeshward(['top', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: meshward top --admin URL \[--once\]/);
  assert.equal((await runMeshward(['top', '--admin', t.adminUrl, '--interval', 'soon'])).code, 2);
  assert.equal((await runMeshward(['top', '--admin', t.adminUrl, 'extra'])).code, 2);
});
