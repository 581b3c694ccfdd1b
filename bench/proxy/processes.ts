// Every process the benchmark starts, so none outlives it: stopped in order on a normal
// end, killed on failure, on SIGINT/SIGTERM and (synchronously) on process exit.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface Tracked {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Extra processes to kill with it (nginx's workers), with their start times (pid reuse). */
  extra: Array<{ pid: number; startTime: string | undefined }>;
}

const STOP_GRACE_MS = 5_000;

export class Processes {
  private readonly tracked = new Set<Tracked>();

  constructor() {
    process.once('exit', () => this.killAll());
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`bench: ${signal}: stopping child processes\n`);
        this.killAll();
        process.exit(130);
      });
    }
  }

  track(name: string, proc: ChildProcess): void {
    const t: Tracked = { name, proc, extra: [] };
    this.tracked.add(t);
    proc.once('exit', () => {
      killExtra(t);
      this.tracked.delete(t);
    });
  }

  /** Adds processes that belong to a tracked one (e.g. nginx workers found after start). */
  addPids(proc: ChildProcess, pids: number[]): void {
    for (const t of this.tracked) if (t.proc === proc) t.extra.push(...pids.map((pid) => ({ pid, startTime: startTimeOf(pid) })));
  }

  /** SIGTERM (or `signal`), then SIGKILL after the grace period; resolves once it exited. */
  async stop(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  killAll(): void {
    for (const t of this.tracked) {
      t.proc.kill('SIGKILL');
      killExtra(t);
    }
    this.tracked.clear();
  }
}

/** Field 22 of /proc/PID/stat: with the pid, it names one process (pids are reused). */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** SIGKILL to the extra processes that are still the ones we recorded. */
function killExtra(t: Tracked): void {
  for (const { pid, startTime } of t.extra) {
    if (startTime === undefined || startTimeOf(pid) !== startTime) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  t.extra = [];
}
