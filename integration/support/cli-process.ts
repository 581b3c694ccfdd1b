// A long-running `meshward` CLI command (tap, top) as a child process, its output read line by
// line as it comes, so a test can wait for "subscribed" before it drives calls. Optionally
// under a pseudo-terminal (util-linux `script`), to see what a person at a terminal sees.
// Test support only.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../demo/repo-root.js';
import { meshwardCli } from './sidecar-process.js';

export interface CliProcess {
  readonly proc: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the first line (past or future) of `stream` matching `re`; rejects after `timeoutMs`. */
  waitForLine(stream: 'stdout' | 'stderr', re: RegExp, timeoutMs?: number): Promise<string>;
  /** Exit code (SIGKILL after `timeoutMs`, then null). */
  exited(timeoutMs?: number): Promise<number | null>;
}

export interface CliOptions {
  /** Run under a pseudo-terminal: stdout is a TTY (and stderr is merged into stdout). */
  readonly tty?: boolean;
  readonly env?: Record<string, string>;
}

export function startCli(args: string[], opts: CliOptions = {}): CliProcess {
  const env = { ...process.env, NO_COLOR: '', ...opts.env };
  const proc = opts.tty
    ? spawn('script', ['-qfec', [process.execPath, meshwardCli, ...args].map(shellQuote).join(' '), '/dev/null'], { cwd: repoRoot, env: { ...env, COLUMNS: '200', LINES: '50' }, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, [meshwardCli, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const waiters = new Set<() => void>();
  for (const name of ['stdout', 'stderr'] as const) {
    createInterface({ input: proc[name]! }).on('line', (l) => {
      lines[name].push(l);
      for (const w of waiters) w();
    });
  }
  const exit = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return {
    proc,
    stdout: lines.stdout,
    stderr: lines.stderr,
    waitForLine(stream, re, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hit = lines[stream].find((l) => re.test(l));
          if (hit === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${stream} line matching ${re} within ${timeoutMs} ms\nstdout:\n${lines.stdout.join('\n')}\nstderr:\n${lines.stderr.join('\n')}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async exited(timeoutMs = 15_000) {
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
