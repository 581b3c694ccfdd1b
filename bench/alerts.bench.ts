// Alerts cost (issue 18): the detectors' call observer as the pipeline runs it, over a call
// context and a real policy decision, against the same loop with the metrics observer only;
// known pairs (16 methods × 1 caller), many pairs (16 × 64 callers, LRU relinks), and a
// table at its cap with a new pair per call (evictions). Then the control path: one window
// evaluation over a full table (10,000 pairs), and the heap per pair.
// Run: node --import tsx bench/alerts.bench.ts [calls]

import { PerformanceObserver } from 'node:perf_hooks';
import { alertsObserver } from '../sidecar/alerts/alerts-observer.js';
import { AlertsHarness, DELETE_ORDER, GET_ORDER } from '../sidecar/alerts/alerts.test-helper.js';
import { setLogLevel } from '../sidecar/core/log.js';
import { PairTable } from '../sidecar/alerts/pair-table.js';
import type { CallObserver, CallOutcome } from '../sidecar/pipeline/observers.js';
import { decide, fakeCall, snapshotOf } from '../sidecar/telemetry/call-fixtures.test-helper.js';
import { MeshwardMetrics } from '../sidecar/telemetry/meshward-metrics.js';
import { metricsObserver } from '../sidecar/telemetry/metrics-observer.js';
import { MethodLabels } from '../sidecar/telemetry/method-label.js';

const CALLS = Number(process.argv[2] ?? 200_000);
const ROUNDS = 5;
const CHUNK = 512;

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: bench }
spec:
  grpc:
${Array.from({ length: 16 }, (_, i) => `    - { methods: ["bench.v1.S${i}/Get"], allow: [ { principals: ["spiffe://cluster.local/ns/web/*"] } ] }`).join('\n')}
`;
const snapshot = snapshotOf(POLICY);
const PATHS = Array.from({ length: 16 }, (_, i) => `/bench.v1.S${i}/Get`);
const OUTCOME: CallOutcome = Object.freeze({ grpcStatus: 0, httpStatus: 200, rstCode: undefined, durationMs: 1.2 });
const CALLERS = Array.from({ length: 100_000 }, (_, i) => `spiffe://cluster.local/ns/web/sa/caller-${i}`);

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });
const turn = () => new Promise((r) => setTimeout(r, 0));

const metricsOnly = (): CallObserver =>
  metricsObserver(new MeshwardMetrics({ processMetrics: false }), new MethodLabels(), { protocol: 'grpc', direction: 'inbound' });
const alerts = (maxPairs: number): { observer: CallObserver; table: PairTable } => {
  const table = new PairTable(maxPairs, 0);
  return { observer: alertsObserver(table, new MethodLabels()), table };
};

/** ns per call, best of ROUNDS; `caller(i)` picks the principal of call i. */
async function time(observers: readonly CallObserver[], caller: (i: number) => string): Promise<{ ns: number; gcs: number }> {
  const ended = observers.filter((o) => o.ended);
  const decided = observers.filter((o) => o.decided);
  let next = 0;
  const run = (count: number): void => {
    for (let i = 0; i < count; i++, next++) {
      const ctx = fakeCall(PATHS[next & 15]!, {}, caller(next));
      const r = decide(ctx, snapshot);
      ctx.rejection = r;
      for (const o of decided) o.decided!(ctx, r);
      for (const o of ended) o.ended!(ctx, OUTCOME);
    }
  };
  for (let done = 0; done < Math.min(CALLS, 50_000); done += CHUNK) {
    run(CHUNK);
    await turn();
  }
  const before = gcs;
  let best = Infinity;
  const per = Math.ceil(CALLS / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    let ns = 0;
    for (let done = 0; done < per; done += CHUNK) {
      const t = process.hrtime.bigint();
      run(Math.min(CHUNK, per - done));
      ns += Number(process.hrtime.bigint() - t);
      await turn();
    }
    best = Math.min(best, ns / per);
  }
  return { ns: best, gcs: gcs - before };
}

async function main(): Promise<void> {
  console.log(`node ${process.version}; ${CALLS.toLocaleString('en')} calls per scenario, best of ${ROUNDS} rounds`);
  const one = (): string => CALLERS[0]!;
  const many = alerts(10_000);
  const full = alerts(1_000);
  const scenarios: Array<[string, CallObserver[], (i: number) => string]> = [
    ['no observers (context + policy decision)', [], one],
    ['metrics only', [metricsOnly()], one],
    ['metrics + alerts, 16 known pairs', [metricsOnly(), alerts(10_000).observer], one],
    ['metrics + alerts, 1,024 pairs round robin', [metricsOnly(), many.observer], (i) => CALLERS[(i >> 4) & 63]!],
    ['metrics + alerts, cap 1,000, a new pair/call', [metricsOnly(), full.observer], (i) => CALLERS[(i >> 4) % CALLERS.length]!],
  ];
  const results: Array<[string, number, number]> = [];
  for (const [name, observers, caller] of scenarios) {
    const r = await time(observers, caller);
    results.push([name, r.ns, r.gcs]);
  }
  const metricsNs = results[1]![1];
  for (const [name, ns, g] of results) {
    console.log(`${name.padEnd(46)} ${(ns / 1000).toFixed(3).padStart(7)} µs/call   +${((ns - metricsNs) / 1000).toFixed(3).padStart(6)} µs over metrics only   gc ${g}`);
  }
  console.log(`evictions in the capped scenario: ${full.table.stats.evictions.toLocaleString('en')}`);

  // Control path: one window evaluation over a full table, through the real evaluator and book.
  setLogLevel('warn'); // not a line per new caller
  const h = new AlertsHarness('learnFor: 0s\nevaluateEvery: 1m\nwindow: 1m\nmaxActive: 100000');
  for (let i = 0; i < 10_000; i++) h.call(CALLERS[i >> 1]!, i & 1 ? GET_ORDER : DELETE_ORDER, 1);
  h.advance(60_000); // the new callers are raised (evaluation of the first window)
  let bestMs = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    h.advance(60_000);
    bestMs = Math.min(bestMs, Number(process.hrtime.bigint() - t) / 1e6);
  }
  if (h.alerts.view().pairs !== 10_000) throw new Error(`expected 10,000 pairs, got ${h.alerts.view().pairs}`);
  console.log(`${'window evaluation, 10,000 pairs'.padEnd(46)} ${bestMs.toFixed(2).padStart(7)} ms (timer, off the request path)`);
  await h.close();

  // Heap per pair.
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const t = new PairTable(100_000, Infinity);
  for (let i = 0; i < 50_000; i++) t.pair(CALLERS[i >> 4]!, PATHS[i & 15]!.slice(1));
  global.gc?.();
  const perPair = (process.memoryUsage().heapUsed - before) / t.stats.pairs;
  console.log(`${'heap per pair (50,000 pairs)'.padEnd(46)} ${perPair.toFixed(0).padStart(7)} bytes${global.gc ? '' : ' (run with --expose-gc for a steadier number)'}`);
}

await main();
process.exit(0);
