// Runs the built sidecar (dist/sidecar/cli/meshward.js) as a child process and waits for
// readiness: the "meshward ready" log line, then GET /readyz = 200. Test support only.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../demo/repo-root.js';
import { splitHostPort } from './ports.js';

export const meshwardCli: string = join(repoRoot, 'dist', 'sidecar', 'cli', 'meshward.js');

export interface SidecarProcess {
  inbound: string;
  /** The outbound listener (plaintext, loopback), when the config has one; '' otherwise. */
  outbound: string;
  admin: string;
  inboundPort: number;
  adminPort: number;
  proc: ChildProcess;
  stderrLines: string[];
  stdoutLines: string[];
  /** Sends `signal` (default SIGTERM); SIGKILL after 10 s. Resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once the process has exited (bounded: SIGKILL after `timeoutMs`, default 15 s). */
  waitForExit(timeoutMs?: number): Promise<number | null>;
  /** VmRSS from /proc/PID/status, in bytes. */
  memoryRssBytes(): number;
  /** Resolves with the first stderr line (past or future) for which `match` holds; rejects after `timeoutMs` (default 5 s). */
  waitForStderr(match: (line: string, json: Record<string, unknown> | undefined) => boolean, timeoutMs?: number): Promise<string>;
  /** stderr lines that are JSON log records, parsed. */
  logs(): Array<Record<string, unknown>>;
}

export interface StartOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  env?: Record<string, string>;
  /** The process is expected to exit without becoming ready (e.g. bad config): resolve on exit instead. */
  expectFailure?: boolean;
  /** Extra arguments after `run --config PATH`. */
  args?: string[];
  /** Script to run instead of the built CLI (e.g. a stub in a harness test). */
  cli?: string;
}

// Generous: on a shared 2-core machine under load a sidecar that loads tracing, Redis or the
// catalog has taken more than 10 s to become ready. A sidecar that never starts still fails.
const DEFAULT_START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const READYZ_INTERVAL_MS = 25;
const READYZ_REQUEST_TIMEOUT_MS = 1_000;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function parseJson(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function track(proc: ChildProcess): void {
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  // A forgotten child must not keep the test runner alive; every wait below has a timer that does.
  proc.unref();
  for (const s of [proc.stdout, proc.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of running) p.kill('SIGKILL');
    });
  }
}

/** Exit code once `proc` has exited; SIGKILL after `timeoutMs`. */
function exitOf(proc: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

function httpStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

export async function startSidecar(configPath: string, opts: StartOptions = {}): Promise<SidecarProcess> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const proc = spawn(process.execPath, [opts.cli ?? meshwardCli, 'run', '--config', configPath, ...(opts.args ?? [])], {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(proc);

  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const watchers = new Set<(line: string, json: Record<string, unknown> | undefined) => void>();
  createInterface({ input: proc.stdout! }).on('line', (l) => stdoutLines.push(l));
  createInterface({ input: proc.stderr! }).on('line', (l) => {
    stderrLines.push(l);
    const json = parseJson(l);
    for (const w of watchers) w(l, json);
  });
  // 'exit' can come before the last lines are read; 'close' comes after the pipes end.
  const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));

  const waitForStderr: SidecarProcess['waitForStderr'] = (match, waitMs = 5_000) =>
    new Promise((resolve, reject) => {
      for (const l of stderrLines) if (match(l, parseJson(l))) return resolve(l);
      const timer = setTimeout(() => {
        watchers.delete(watch);
        reject(new Error(`sidecar: no matching stderr line within ${waitMs} ms; stderr:\n${stderrLines.join('\n')}`));
      }, waitMs);
      const watch = (l: string, json: Record<string, unknown> | undefined): void => {
        if (!match(l, json)) return;
        clearTimeout(timer);
        watchers.delete(watch);
        resolve(l);
      };
      watchers.add(watch);
    });

  const sidecar: SidecarProcess = {
    inbound: '',
    outbound: '',
    admin: '',
    inboundPort: 0,
    adminPort: 0,
    proc,
    stderrLines,
    stdoutLines,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const code = await exitOf(proc, STOP_GRACE_MS);
      await closedWithin(closed, 1_000);
      return code;
    },
    waitForExit: async (waitMs = 15_000) => {
      const code = await exitOf(proc, waitMs);
      await closedWithin(closed, 1_000);
      return code;
    },
    memoryRssBytes: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (!m) throw new Error(`no VmRSS for pid ${proc.pid} (exited?)`);
      return Number(m[1]) * 1024;
    },
    waitForStderr,
    logs: () => stderrLines.map(parseJson).filter((j): j is Record<string, unknown> => j !== undefined),
  };

  const deadline = Date.now() + timeoutMs;
  const describe = (why: string): Error =>
    new Error(`sidecar ${why} (config ${configPath}); stderr:\n${stderrLines.join('\n')}\nstdout:\n${stdoutLines.join('\n')}`);

  if (opts.expectFailure) {
    let ready = false;
    watchers.add((_l, json) => (ready ||= json?.msg === 'meshward ready'));
    const code = await exitOf(proc, timeoutMs);
    await closedWithin(closed, 1_000);
    if (ready) throw describe(`became ready although failure was expected (exit ${code})`);
    if (proc.signalCode === 'SIGKILL') throw describe(`did not exit within ${timeoutMs} ms`);
    return sidecar;
  }

  // Phase 1: the ready line, or exit (after its last stderr line was read), or timeout.
  const readyLine = await new Promise<Record<string, unknown> | undefined>((resolve) => {
    const done = (v: Record<string, unknown> | undefined): void => {
      clearTimeout(timer);
      watchers.delete(watch);
      resolve(v);
    };
    const watch = (_l: string, json: Record<string, unknown> | undefined): void => {
      if (json?.msg === 'meshward ready') done(json);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    watchers.add(watch);
    void closed.then(() => done(undefined));
  });
  if (readyLine === undefined) {
    const exited = proc.exitCode !== null || proc.signalCode !== null;
    const code = exited ? proc.exitCode ?? proc.signalCode : undefined;
    await sidecar.stop('SIGKILL');
    throw describe(exited ? `exited with ${code} before ready` : `not ready within ${timeoutMs} ms`);
  }
  if (typeof readyLine.inbound !== 'string' || typeof readyLine.admin !== 'string') {
    await sidecar.stop('SIGKILL');
    throw describe('ready line lacks "inbound"/"admin"');
  }
  sidecar.inbound = readyLine.inbound;
  if (typeof readyLine.outbound === 'string') sidecar.outbound = readyLine.outbound;
  sidecar.admin = readyLine.admin;
  sidecar.inboundPort = splitHostPort(readyLine.inbound).port;
  sidecar.adminPort = splitHostPort(readyLine.admin).port;

  // Phase 2: /readyz answers 200. Bounded by the same deadline; the interval is short.
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw describe(`exited with ${proc.exitCode ?? proc.signalCode} after the ready line`);
    const left = deadline - Date.now();
    if (left <= 0) {
      await sidecar.stop('SIGKILL');
      throw describe(`/readyz not 200 within ${timeoutMs} ms`);
    }
    const status = await httpStatus(`http://${sidecar.admin}/readyz`, Math.min(READYZ_REQUEST_TIMEOUT_MS, left));
    if (status === 200) return sidecar;
    await new Promise((r) => setTimeout(r, READYZ_INTERVAL_MS));
  }
}

function closedWithin(closed: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

/** Stops every sidecar (and CLI run) still running: SIGTERM, then SIGKILL after the grace period. */
export async function stopAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await Promise.all(
    [...running].map((proc) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exitOf(proc, STOP_GRACE_MS);
    }),
  );
}

/** One-shot CLI run (`meshward policy lint ...`, `meshward certs ...`): all output, exit code. */
export async function runMeshward(
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string>; input?: string; cwd?: string; cli?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const proc = spawn(process.execPath, [opts.cli ?? meshwardCli, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  proc.stdout!.on('data', (c: Buffer) => out.push(c));
  proc.stderr!.on('data', (c: Buffer) => err.push(c));
  if (opts.input !== undefined) proc.stdin!.end(opts.input);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  const result = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  if (timedOut) throw new Error(`meshward ${args.join(' ')}: killed after ${timeoutMs} ms; stderr:\n${result.stderr}`);
  return result;
}
