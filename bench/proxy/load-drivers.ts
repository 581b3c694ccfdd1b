// Load drivers as the harness sees them (control side of the benchmark):
//   node    the forked Node generator (load-generator.ts): TLS client certs, any target
//   h2load  nghttp2's h2load: plaintext (h2c) targets only — it has no client-cert option
// A scenario drives all of its targets with one driver, so their numbers compare.

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH_PATH, REQUEST_FRAME } from './grpc-wire.js';
import { percentile, type FromGenerator, type LoadResult, type LoadSpec, type LoadTarget, type ToGenerator } from './load-protocol.js';
import type { Processes } from './processes.js';

export interface LoadDriver {
  readonly name: string;
  /**
   * Opens the connections, calls `beforeLoad` (the harness samples CPU there), applies the
   * load, and returns what was measured. Connection setup is outside the measured window.
   */
  run(target: LoadTarget, spec: LoadSpec, beforeLoad: () => void): Promise<LoadResult>;
  /** The driver's own process, for CPU accounting (undefined when it has none between runs). */
  readonly pid: number | undefined;
}

const GENERATOR = new URL('./load-generator.ts', import.meta.url).pathname;
const STEP_TIMEOUT_GRACE_MS = 15_000;
/** h2load saturating runs with at least this many calls are bounded by time instead. */
const TIME_BOUND_CALLS = 100_000;

/** The Node generator, forked once and reused for every run. */
export class NodeLoadDriver implements LoadDriver {
  readonly name = 'node';
  private readonly child: ChildProcess;
  private waiting: ((msg: FromGenerator) => void) | undefined;

  constructor(processes: Processes) {
    this.child = fork(GENERATOR, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    processes.track('load generator', this.child);
    this.child.on('message', (msg: FromGenerator) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(msg);
    });
    this.child.on('exit', (code, signal) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.({ type: 'failed', error: `load generator exited (${code ?? signal})` });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private exchange(msg: ToGenerator, timeoutMs: number): Promise<FromGenerator> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve({ type: 'failed', error: `load generator: no answer to "${msg.type}" within ${timeoutMs} ms` });
      }, timeoutMs);
      this.waiting = (reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.child.send(msg);
    });
  }

  async run(target: LoadTarget, spec: LoadSpec, beforeLoad: () => void): Promise<LoadResult> {
    const ready = await this.exchange({ type: 'prepare', target, spec }, STEP_TIMEOUT_GRACE_MS);
    if (ready.type === 'failed') throw new Error(ready.error);
    beforeLoad();
    const done = await this.exchange({ type: 'go' }, spec.maxMs + STEP_TIMEOUT_GRACE_MS);
    if (done.type === 'failed') throw new Error(done.error);
    if (done.type !== 'result') throw new Error(`load generator: unexpected "${done.type}"`);
    return done.result;
  }
}

/** h2load, one process per run; latencies from its per-request log file. */
export class H2loadDriver implements LoadDriver {
  readonly name = 'h2load';
  readonly pid = undefined;
  private readonly bodyFile: string;
  private runs = 0;

  constructor(
    private readonly processes: Processes,
    private readonly dir: string,
  ) {
    this.bodyFile = join(dir, 'request.grpc');
  }

  async run(target: LoadTarget, spec: LoadSpec, beforeLoad: () => void): Promise<LoadResult> {
    if (target.tls !== undefined) throw new Error('h2load cannot present a client certificate: use the node driver for mTLS targets');
    await writeFile(this.bodyFile, REQUEST_FRAME);
    const logFile = join(this.dir, `h2load-${++this.runs}.log`);
    const args = [
      `http://${target.authority}${BENCH_PATH}`,
      '-d', this.bodyFile,
      '-H', 'content-type: application/grpc',
      '-H', 'te: trailers',
      '-t', '1',
      '-c', String(spec.connections),
      // A count small enough to finish in time bounds the run; otherwise the time does (-D).
      ...(spec.mode === 'saturate' && spec.maxCalls >= TIME_BOUND_CALLS ? ['-D', `${spec.maxMs}ms`] : ['-n', String(spec.maxCalls)]),
      `--log-file=${logFile}`,
    ];
    if (spec.mode === 'saturate') args.push('-m', String(spec.streams));
    else args.push('-m', '100', `--rps=${spec.rate / spec.connections}`);
    beforeLoad();
    const started = performance.now();
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.track('h2load', child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), spec.maxMs + STEP_TIMEOUT_GRACE_MS);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    }).finally(() => clearTimeout(killer));
    const wallMs = performance.now() - started;
    if (code !== 0) throw new Error(`h2load exited with ${code}:\n${out}`);

    const latencies: number[] = [];
    let errors = 0;
    for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
      if (line === '') continue;
      const [, status, micros] = line.split('\t');
      if (status === '200') latencies.push(Number(micros) / 1000);
      else errors++;
    }
    const summary = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
    const failed = summary === null ? 0 : Number(summary[5]) + Number(summary[6]);
    const finished = /finished in ([\d.]+)(ms|s),/.exec(out);
    const elapsedMs = finished === null ? wallMs : Number(finished[1]) * (finished[2] === 's' ? 1000 : 1);
    const sorted = Float64Array.from(latencies).sort();
    return {
      calls: latencies.length,
      errors: Math.max(errors, failed),
      errorSamples: errors + failed > 0 ? [out.split('\n').filter((l) => l.startsWith('requests:') || l.startsWith('status codes:')).join('; ')] : [],
      elapsedMs,
      p50Ms: percentile(sorted, 50),
      p90Ms: percentile(sorted, 90),
      p99Ms: percentile(sorted, 99),
      maxMs: percentile(sorted, 100),
      driverCpuMs: undefined,
      maxLagMs: 0,
    };
  }
}
