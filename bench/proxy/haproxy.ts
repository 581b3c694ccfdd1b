// Runs HAProxy 2.6 (Debian haproxy) in the foreground (-db, one thread) as a child process
// with its own config in a temporary folder: the second peer beside nginx. Templates live in
// bench/haproxy/; HAProxy wants a certificate and its key in one PEM file.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canConnect, render } from './nginx.js';
import type { Processes } from './processes.js';

export const HAPROXY_BIN = '/usr/sbin/haproxy';
const TEMPLATES = new URL('../haproxy/', import.meta.url).pathname;
const START_TIMEOUT_MS = 5_000;

export interface RunningHaproxy {
  readonly proc: ChildProcess;
  readonly pids: number[];
  stop(): Promise<void>;
}

export async function startHaproxy(
  processes: Processes,
  opts: {
    name: string;
    template: 'inbound.cfg' | 'outbound.cfg';
    dir: string;
    port: number;
    /** The certificate and key HAProxy presents (joined into one PEM). */
    certPem: string;
    keyPem: string;
    values: Record<string, string>;
  },
): Promise<RunningHaproxy> {
  const prefix = join(opts.dir, opts.name);
  await mkdir(prefix, { recursive: true });
  const certKey = join(prefix, 'cert-key.pem');
  await writeFile(certKey, opts.certPem + opts.keyPem, { mode: 0o600 });
  const conf = join(prefix, 'haproxy.cfg');
  const template = await readFile(join(TEMPLATES, opts.template), 'utf8');
  await writeFile(conf, render(template, { ...opts.values, CERT_KEY: certKey, LISTEN: `127.0.0.1:${opts.port}` }));

  const proc = spawn(HAPROXY_BIN, ['-db', '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  processes.track(opts.name, proc);
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 10_000) stderr += c.toString();
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${opts.name}: haproxy exited (${proc.exitCode ?? proc.signalCode}):\n${stderr}`);
    if (Date.now() > deadline) {
      await processes.stop(proc);
      throw new Error(`${opts.name}: haproxy not listening on ${opts.port} within ${START_TIMEOUT_MS} ms:\n${stderr}`);
    }
    if (await canConnect(opts.port)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // SIGUSR1: soft stop (connections finish, then it exits).
  return { proc, pids: [proc.pid!], stop: () => processes.stop(proc, 'SIGUSR1') };
}
