// Runs nginx (Debian nginx-light) in the foreground as a child process with its own
// prefix, config and pid file in a temporary folder; its CPU is the master's plus the
// worker's. Templates live in bench/nginx/.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { childPids } from './proc-stats.js';
import type { Processes } from './processes.js';

export const NGINX_BIN = '/usr/sbin/nginx';
const TEMPLATES = new URL('../nginx/', import.meta.url).pathname;
const START_TIMEOUT_MS = 5_000;

export interface RunningNginx {
  readonly proc: ChildProcess;
  /** Master and workers. */
  readonly pids: number[];
  stop(): Promise<void>;
}

/** Fills `{{NAME}}` placeholders; a placeholder without a value is an error. */
export function render(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`template: no value for {{${name}}}`);
    return v;
  });
}

export async function startNginx(
  processes: Processes,
  opts: { name: string; template: 'inbound.conf' | 'outbound.conf'; dir: string; port: number; values: Record<string, string> },
): Promise<RunningNginx> {
  const prefix = join(opts.dir, opts.name);
  await mkdir(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  const template = await readFile(join(TEMPLATES, opts.template), 'utf8');
  await writeFile(conf, render(template, { ...opts.values, PREFIX: prefix, LISTEN: `127.0.0.1:${opts.port}` }));

  const proc = spawn(NGINX_BIN, ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  processes.track(opts.name, proc);
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));

  const deadline = Date.now() + START_TIMEOUT_MS;
  let workers: number[] = [];
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const log = await readFile(join(prefix, 'error.log'), 'utf8').catch(() => '');
      throw new Error(`${opts.name}: nginx exited (${proc.exitCode ?? proc.signalCode}):\n${stderr}${log}`);
    }
    if (Date.now() > deadline) {
      await processes.stop(proc);
      throw new Error(`${opts.name}: nginx not listening on ${opts.port} within ${START_TIMEOUT_MS} ms:\n${stderr}`);
    }
    workers = childPids(proc.pid!);
    if (workers.length > 0 && (await canConnect(opts.port))) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  processes.addPids(proc, workers);
  return {
    proc,
    pids: [proc.pid!, ...workers],
    // SIGQUIT: graceful shutdown (workers finish, then the master exits).
    stop: () => processes.stop(proc, 'SIGQUIT'),
  };
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` (a peer is up). */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
