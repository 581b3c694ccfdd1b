// The Node load generator (a forked child of the harness): node:http2 clients that can
// present a client certificate, which h2load cannot. N connections × M concurrent streams
// (closed loop) or a fixed call rate (open loop), bounded by a call count and a time limit.
// Every call sends the same prebuilt gRPC request; latency is send → stream close.
// Protocol (IPC): prepare → prepared (connections open) → go → result. Exits with its parent.

import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { tlsConnectOptions } from '../../integration/support/raw-h2.js';
import { BENCH_PATH, REQUEST_FRAME } from './grpc-wire.js';
import { percentile, type FromGenerator, type LoadResult, type LoadSpec, type LoadTarget, type ToGenerator } from './load-protocol.js';

const CONNECT_TIMEOUT_MS = 5_000;
/** After the time limit, calls still in flight get this long before they count as errors. */
const DRAIN_GRACE_MS = 5_000;
/** Open loop: calls in flight beyond this are not started (counted as errors): the target is overloaded. */
const MAX_IN_FLIGHT = 10_000;
const MAX_ERROR_SAMPLES = 5;

function send(msg: FromGenerator): void {
  process.send!(msg);
}

function connect(target: LoadTarget): Promise<ClientHttp2Session> {
  const settings = { settings: { enablePush: false, initialWindowSize: 1 << 20 } };
  const session =
    target.tls === undefined
      ? http2.connect(`http://${target.authority}`, settings)
      : http2.connect(`https://${target.authority}`, { ...settings, ...tlsConnectOptions(target.tls) });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`connect to ${target.authority}: timed out`)), CONNECT_TIMEOUT_MS);
    function fail(err: Error): void {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    }
    session.once('error', fail);
    session.once('connect', () => {
      clearTimeout(timer);
      session.off('error', fail);
      session.on('error', () => {}); // later failures show up on the calls
      resolve(session);
    });
  });
}

class Run {
  private readonly latencies: Float64Array;
  private completed = 0;
  private started = 0;
  private inFlight = 0;
  private errors = 0;
  private readonly errorSamples: string[] = [];
  private maxLagMs = 0;
  private t0 = 0;
  private cpu0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private next = 0;
  private finished = false;
  private readonly headers: OutgoingHttpHeaders;
  private onIdle: (() => void) | undefined;

  constructor(
    private readonly sessions: ClientHttp2Session[],
    target: LoadTarget,
    private readonly spec: LoadSpec,
  ) {
    this.latencies = new Float64Array(spec.maxCalls);
    this.headers = {
      ':method': 'POST',
      ':scheme': target.tls === undefined ? 'http' : 'https',
      ':authority': target.authority,
      ':path': BENCH_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'meshward-bench/1',
    };
  }

  async execute(): Promise<LoadResult> {
    this.t0 = performance.now();
    this.cpu0 = process.cpuUsage();
    const done = new Promise<void>((resolve) => (this.onIdle = resolve));
    const spec = this.spec;
    if (spec.mode === 'saturate') {
      const slots = Math.min(spec.maxCalls, spec.connections * spec.streams);
      for (let i = 0; i < slots; i++) this.call(i % this.sessions.length);
    } else {
      this.pace(spec.rate);
    }
    const hardStop = setTimeout(() => this.abandon(), spec.maxMs + DRAIN_GRACE_MS);
    await done;
    clearTimeout(hardStop);
    return this.result();
  }

  private get timeUp(): boolean {
    return performance.now() - this.t0 >= this.spec.maxMs;
  }

  private mayStart(): boolean {
    return !this.finished && this.started < this.spec.maxCalls && !this.timeUp;
  }

  /** Open loop: every millisecond, start the calls whose scheduled time has come. */
  private pace(rate: number): void {
    const interval = 1000 / rate;
    const timer = setInterval(() => {
      const now = performance.now();
      while (this.mayStart()) {
        const due = this.t0 + this.started * interval;
        if (due > now) break;
        this.maxLagMs = Math.max(this.maxLagMs, now - due);
        if (this.inFlight >= MAX_IN_FLIGHT) {
          this.started++;
          this.fail('generator: too many calls in flight');
          continue;
        }
        this.call(this.next);
        this.next = (this.next + 1) % this.sessions.length;
      }
      if (!this.mayStart()) {
        clearInterval(timer);
        this.checkIdle();
      }
    }, 1);
  }

  private call(sessionIndex: number): void {
    this.started++;
    this.inFlight++;
    const sentAt = performance.now();
    let status: unknown;
    let grpcStatus: string | string[] | undefined;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.sessions[sessionIndex]!.request(this.headers, { endStream: false });
    } catch (err) {
      // The connection is gone: this slot stops (no retry loop), the run ends without it.
      this.inFlight--;
      this.fail(`request: ${(err as Error).message}`);
      this.checkIdle();
      return;
    }
    stream.on('response', (h: IncomingHttpHeaders) => {
      status = h[':status'];
      grpcStatus = h['grpc-status'];
    });
    stream.on('trailers', (t: IncomingHttpHeaders) => {
      grpcStatus = t['grpc-status'];
    });
    stream.on('data', noop);
    stream.on('error', noop);
    stream.on('close', () => {
      this.inFlight--;
      if (this.finished) return;
      if (status === 200 && grpcStatus === '0' && stream.rstCode === 0) {
        this.latencies[this.completed++] = performance.now() - sentAt;
      } else {
        this.fail(`status ${String(status)} grpc-status ${String(grpcStatus)} rst ${String(stream.rstCode)}`);
      }
      this.afterCall(sessionIndex);
    });
    stream.end(REQUEST_FRAME);
  }

  private afterCall(sessionIndex: number): void {
    if (this.spec.mode === 'saturate' && this.mayStart()) this.call(sessionIndex);
    else this.checkIdle();
  }

  private checkIdle(): void {
    if (this.inFlight === 0 && !this.mayStart() && this.onIdle !== undefined) {
      const resolve = this.onIdle;
      this.onIdle = undefined;
      this.finished = true;
      resolve();
    }
  }

  private fail(why: string): void {
    this.errors++;
    if (this.errorSamples.length < MAX_ERROR_SAMPLES) this.errorSamples.push(why);
  }

  /** The time limit plus grace passed with calls still in flight: they count as errors. */
  private abandon(): void {
    for (let i = 0; i < this.inFlight; i++) this.fail('no answer within the time limit');
    this.inFlight = 0;
    this.started = this.spec.maxCalls;
    this.checkIdle();
  }

  private result(): LoadResult {
    const elapsedMs = performance.now() - this.t0;
    const cpu = process.cpuUsage(this.cpu0);
    const sorted = this.latencies.subarray(0, this.completed).sort();
    return {
      calls: this.completed,
      errors: this.errors,
      errorSamples: this.errorSamples,
      elapsedMs,
      p50Ms: percentile(sorted, 50),
      p90Ms: percentile(sorted, 90),
      p99Ms: percentile(sorted, 99),
      maxMs: percentile(sorted, 100),
      driverCpuMs: (cpu.user + cpu.system) / 1000,
      maxLagMs: this.maxLagMs,
    };
  }
}

function noop(): void {}

let prepared: { sessions: ClientHttp2Session[]; target: LoadTarget; spec: LoadSpec } | undefined;

async function onMessage(msg: ToGenerator): Promise<void> {
  if (msg.type === 'prepare') {
    const sessions = await Promise.all(Array.from({ length: msg.spec.connections }, () => connect(msg.target)));
    prepared = { sessions, target: msg.target, spec: msg.spec };
    send({ type: 'prepared' });
    return;
  }
  if (prepared === undefined) throw new Error('go before prepare');
  const { sessions, target, spec } = prepared;
  prepared = undefined;
  const result = await new Run(sessions, target, spec).execute();
  for (const s of sessions) s.close();
  send({ type: 'result', result });
}

process.on('message', (msg: ToGenerator) => {
  onMessage(msg).catch((err: unknown) => {
    if (prepared !== undefined) for (const s of prepared.sessions) s.destroy();
    prepared = undefined;
    send({ type: 'failed', error: String((err as Error)?.message ?? err) });
  });
});
process.on('disconnect', () => process.exit(0));
