// Runs the built sidecar (dist/sidecar/cli/meshward.js) as a child process for the benchmark,
// with optional Node flags (--cpu-prof cannot go through NODE_OPTIONS), and waits for its
// "meshward ready" line (a primary names its workers). Audit to a file, logs to stderr.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { meshwardCli } from '../../integration/support/sidecar-process.js';
import { splitHostPort } from '../../integration/support/ports.js';
import { GcTrace } from './gc-trace.js';
import type { Processes } from './processes.js';

const READY_TIMEOUT_MS = 30_000;
const MAX_KEPT_LINES = 200;

export interface MeshwardProcess {
  readonly proc: ChildProcess;
  /** The process, and its workers when the config has `workers` > 1 (from the ready line). */
  readonly pids: number[];
  readonly inboundPort: number;
  /** The outbound listener's port, when the config has one (0 otherwise). */
  readonly outboundPort: number;
  /** The admin listener's port. */
  readonly adminPort: number;
  /** SIGTERM (graceful drain; a CPU profile is written on this exit), SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** With `traceGc`: the process's GC pauses (workers' not included). */
  readonly gc: GcTrace | undefined;
}

/** `cli`: another build of meshward (a copy of dist/ from before a change); `node`: another Node binary. */
export async function startMeshward(
  processes: Processes,
  name: string,
  configPath: string,
  opts: { execArgv?: readonly string[]; cli?: string; node?: string; traceGc?: boolean } = {},
): Promise<MeshwardProcess> {
  const gcArgs = opts.traceGc ? ['--trace-gc'] : [];
  const proc = spawn(opts.node ?? process.execPath, [...(opts.execArgv ?? []), ...gcArgs, opts.cli ?? meshwardCli, 'run', '--config', configPath], {
    stdio: ['ignore', opts.traceGc ? 'pipe' : 'ignore', 'pipe'],
  });
  let gc: GcTrace | undefined;
  if (opts.traceGc) {
    gc = new GcTrace();
    gc.follow(proc.stdout!);
  }
  processes.track(name, proc);
  const lines: string[] = [];
  const ready = await new Promise<Record<string, unknown> | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), READY_TIMEOUT_MS);
    const rl = createInterface({ input: proc.stderr! });
    rl.on('line', (line) => {
      if (lines.length < MAX_KEPT_LINES) lines.push(line);
      if (!line.includes('"meshward ready"')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line) as Record<string, unknown>);
    });
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  if (ready === undefined || typeof ready.inbound !== 'string') {
    await processes.stop(proc, 'SIGKILL');
    throw new Error(`${name}: meshward not ready (config ${configPath}):\n${lines.join('\n')}`);
  }
  // Keep reading stderr so a chatty sidecar never blocks on a full pipe.
  proc.stderr!.resume();
  const workerPids = Array.isArray(ready.workerPids) ? ready.workerPids.filter((p): p is number => typeof p === 'number') : [];
  return {
    proc,
    pids: [proc.pid!, ...workerPids],
    inboundPort: splitHostPort(ready.inbound).port,
    outboundPort: typeof ready.outbound === 'string' ? splitHostPort(ready.outbound).port : 0,
    adminPort: typeof ready.admin === 'string' ? splitHostPort(ready.admin).port : 0,
    stop: () => processes.stop(proc, 'SIGTERM'),
    gc,
  };
}
