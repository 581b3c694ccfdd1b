// Pieces of the benchmark harness (bench/proxy/main.ts): keeping dist/ current, the
// backend app and the OTLP sink as processes, and one measured load with its CPU and memory.

import { fork, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { repoRoot } from '../../demo/repo-root.js';
import type { LoadDriver } from './load-drivers.js';
import type { LoadSpec } from './load-protocol.js';
import { maxProcessRssBytes, rssBytes, totalCpuMs } from './proc-stats.js';
import type { Processes } from './processes.js';
import type { Measurement } from './report.js';
import type { RunningTarget } from './targets.js';

/** Builds dist/ when it is missing or older than the sources (CI has just built it). */
export function ensureBuilt(log: (msg: string) => void): void {
  const newest = (dir: string, keep: (name: string) => boolean): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p, keep) : keep(e.name) ? statSync(p).mtimeMs : 0);
    }, 0);
  const dist = join(repoRoot, 'dist', 'sidecar');
  const built = existsSync(join(dist, 'cli', 'meshward.js')) ? newest(dist, (n) => n.endsWith('.js')) : 0;
  if (built >= newest(join(repoRoot, 'sidecar'), (n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) return;
  log('dist/ is older than sidecar/: building');
  const r = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'inherit' });
  // tsc emits despite type errors; a tree in the middle of an edit can still be measured.
  if (r.status !== 0) log('WARNING: tsc reported errors; measuring the JavaScript it emitted');
}

export function startApp(processes: Processes, impl: string): Promise<{ pid: number; port: number }> {
  const child = fork(new URL('./backend-app.ts', import.meta.url).pathname, ['--impl', impl], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  processes.track('app', child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('app: not ready within 10 s')), 10_000);
    child.once('message', (msg: { type: string; port: number }) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, port: msg.port });
    });
    child.once('exit', (code) => reject(new Error(`app exited (${code})`)));
  });
}

/** OTLP/HTTP sink for variants with tracing: accepts spans, keeps nothing. */
export function startOtlpSink(): Promise<{ server: Server; endpoint: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}` })),
  );
}

export interface Pids {
  readonly app: number;
  readonly driver: number | undefined;
}

export async function measure(driver: LoadDriver, target: RunningTarget, spec: LoadSpec, pids: Pids): Promise<Measurement> {
  let proxy0 = 0;
  let app0 = 0;
  let rssMax = 0;
  let processRssMax = 0;
  const sample = (): void => {
    rssMax = Math.max(rssMax, rssBytes(target.proxyPids));
    processRssMax = Math.max(processRssMax, maxProcessRssBytes(target.proxyPids));
  };
  const sampler = setInterval(sample, 100);
  try {
    const result = await driver.run(target.load, spec, () => {
      proxy0 = totalCpuMs(target.proxyPids);
      app0 = totalCpuMs([pids.app]);
    });
    const proxyCpuMs = totalCpuMs(target.proxyPids) - proxy0;
    const appCpuMs = totalCpuMs([pids.app]) - app0;
    sample();
    return { result, proxyCpuMs, appCpuMs, driverCpuMs: result.driverCpuMs, rssUnderLoadBytes: rssMax, processRssUnderLoadBytes: processRssMax };
  } finally {
    clearInterval(sampler);
  }
}
