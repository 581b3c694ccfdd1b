// Telemetry cost per call: the call observers (metrics, spans) as the pipeline runs them —
// started, decided, ended — over a call context and a real policy decision, with tracing off,
// at 1% and at 100% sampling (SDK span, meshward's export queue, a no-op exporter), against
// the same loop without observers. Then the export itself (protobuf over HTTP to a local
// sink), which runs on the event loop but off any call, as CPU per span; and prom-client's
// labelled counter + histogram for comparison with the hand-written metrics.
// Run: node --import tsx bench/telemetry.bench.ts [calls]

import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { AlwaysOnSampler, BasicTracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { Counter, Histogram, Registry } from 'prom-client';
import type { CallObserver, CallOutcome } from '../sidecar/pipeline/observers.js';
import { decide, fakeCall, snapshotOf } from '../sidecar/telemetry/call-fixtures.test-helper.js';
import { MeshwardMetrics, DURATION_BUCKETS } from '../sidecar/telemetry/meshward-metrics.js';
import { metricsObserver } from '../sidecar/telemetry/metrics-observer.js';
import { MethodLabels } from '../sidecar/telemetry/method-label.js';
import { createSampler, parentBasedRatio } from '../sidecar/telemetry/sampling.js';
import { SpanExportQueue } from '../sidecar/telemetry/span-export-queue.js';
import { traceObserver } from '../sidecar/telemetry/trace-observer.js';
import { PresetIdGenerator } from '../sidecar/telemetry/tracing-setup.js';

const CALLS = Number(process.argv[2] ?? 200_000);
const ROUNDS = 5;
const CHUNK = 512; // calls between event-loop turns, so the export queue's timer can run

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: bench }
spec:
  grpc:
${Array.from({ length: 16 }, (_, i) => `    - { methods: ["bench.v1.S${i}/Get"], allow: [ { principals: ["spiffe://cluster.local/ns/web/sa/frontend"] } ] }`).join('\n')}
`;
const snapshot = snapshotOf(POLICY);
const PATHS = Array.from({ length: 16 }, (_, i) => `/bench.v1.S${i}/Get`.slice(0)); // slices, as :path values are
const OUTCOME: CallOutcome = Object.freeze({ grpcStatus: 0, httpStatus: 200, rstCode: undefined, durationMs: 1.2 });

class NullExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (r: { code: ExportResultCode }) => void): void {
    this.spans += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

function tracing(ratio: number): { observer: CallObserver; exporter: NullExporter; queue: SpanExportQueue } {
  const exporter = new NullExporter();
  const queue = new SpanExportQueue(exporter, { maxQueueSize: 4096, maxExportBatchSize: 512, scheduledDelayMillis: 0, exportTimeoutMillis: 30_000 });
  const ids = new PresetIdGenerator();
  const provider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), idGenerator: ids, spanProcessors: [queue] });
  const observer = traceObserver({
    tracer: provider.getTracer('meshward'),
    sampler: createSampler(parentBasedRatio(ratio)),
    ids,
    propagation: 'w3c',
    labels: new MethodLabels(),
  });
  return { observer, exporter, queue };
}

function metricsOnly(): CallObserver {
  return metricsObserver(new MeshwardMetrics({ processMetrics: false }), new MethodLabels(), { protocol: 'grpc', direction: 'inbound' });
}

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });
const turn = () => new Promise((r) => setTimeout(r, 0));

/** ns per call: best of ROUNDS rounds; only the synchronous call work is timed. */
async function time(observers: readonly CallObserver[], n: number): Promise<{ ns: number; gcs: number }> {
  const started = observers.filter((o) => o.started);
  const decided = observers.filter((o) => o.decided);
  const ended = observers.filter((o) => o.ended);
  const run = (count: number, offset: number): number => {
    let sink = 0;
    for (let i = 0; i < count; i++) {
      const ctx = fakeCall(PATHS[(offset + i) & 15]!);
      for (const o of started) o.started!(ctx);
      const r = decide(ctx, snapshot);
      ctx.rejection = r;
      for (const o of decided) o.decided!(ctx, r);
      for (const o of ended) o.ended!(ctx, OUTCOME);
      sink += ctx.trace === undefined ? 0 : 1;
    }
    return sink;
  };
  for (let done = 0; done < Math.min(n, 50_000); done += CHUNK) {
    run(CHUNK, done);
    await turn();
  }
  const before = gcs;
  let best = Infinity;
  const per = Math.ceil(n / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    let ns = 0;
    for (let done = 0; done < per; done += CHUNK) {
      const t = process.hrtime.bigint();
      run(Math.min(CHUNK, per - done), done);
      ns += Number(process.hrtime.bigint() - t);
      await turn();
    }
    best = Math.min(best, ns / per);
  }
  return { ns: best, gcs: gcs - before };
}

/** CPU per span of the real OTLP http/protobuf exporter sending to a local sink that discards. */
async function exportCost(spansTotal: number): Promise<number> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  const exporter = new OTLPTraceExporter({ url }) as unknown as SpanExporter;
  const collect = new NullExporter();
  const kept: ReadableSpan[] = [];
  const keep: SpanExporter = { export: (s, done) => (kept.push(...s), collect.export(s, done)), shutdown: async () => {} };
  const queue = new SpanExportQueue(keep, { maxQueueSize: spansTotal, maxExportBatchSize: spansTotal, scheduledDelayMillis: 0, exportTimeoutMillis: 30_000 });
  const ids = new PresetIdGenerator();
  const provider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), idGenerator: ids, spanProcessors: [queue] });
  const obs = traceObserver({ tracer: provider.getTracer('meshward'), sampler: createSampler(parentBasedRatio(1)), ids, propagation: 'w3c', labels: new MethodLabels() });
  for (let i = 0; i < spansTotal; i++) {
    const ctx = fakeCall(PATHS[i & 15]!);
    obs.started!(ctx);
    const r = decide(ctx, snapshot);
    ctx.rejection = r;
    obs.decided!(ctx, r);
    obs.ended!(ctx, OUTCOME);
  }
  await queue.forceFlush();
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const cpu = process.cpuUsage();
    for (let b = 0; b < kept.length; b += 512) {
      await new Promise<void>((resolve) => exporter.export(kept.slice(b, b + 512), () => resolve()));
    }
    const used = process.cpuUsage(cpu);
    best = Math.min(best, ((used.user + used.system) * 1000) / kept.length);
  }
  await exporter.shutdown();
  server.close();
  return best;
}

function promClientCost(n: number): number {
  const reg = new Registry();
  const labelNames = ['protocol', 'direction', 'method', 'code', 'decision'];
  const c = new Counter({ name: 'x_total', help: 'h', labelNames, registers: [reg] });
  const h = new Histogram({ name: 'x_seconds', help: 'h', labelNames, buckets: [...DURATION_BUCKETS], registers: [reg] });
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      const labels = { protocol: 'grpc', direction: 'inbound', method: PATHS[i & 15]!.slice(1), code: '0', decision: 'allow' };
      c.inc(labels);
      h.observe(labels, 0.0012);
    }
  };
  run(20_000);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    run(Math.ceil(n / ROUNDS));
    best = Math.min(best, Number(process.hrtime.bigint() - t) / Math.ceil(n / ROUNDS));
  }
  return best;
}

async function main(): Promise<void> {
  console.log(`node ${process.version}; ${CALLS.toLocaleString('en')} calls per scenario, best of ${ROUNDS} rounds`);
  const t1 = tracing(0.01);
  const t100 = tracing(1);
  const scenarios: Array<[string, CallObserver[]]> = [
    ['no observers (context + policy decision)', []],
    ['tracing off: metrics only', [metricsOnly()]],
    ['tracing at 1% (roots) + metrics', [t1.observer, metricsOnly()]],
    ['tracing at 100% + metrics', [t100.observer, metricsOnly()]],
  ];
  const results: Array<[string, number, number]> = [];
  for (const [name, observers] of scenarios) {
    const r = await time(observers, CALLS);
    results.push([name, r.ns, r.gcs]);
  }
  const base = results[0]![1];
  for (const [name, ns, g] of results) {
    console.log(`${name.padEnd(44)} ${(ns / 1000).toFixed(3).padStart(7)} µs/call   +${((ns - base) / 1000).toFixed(3).padStart(6)} µs over no observers   gc ${g}`);
  }
  console.log(`spans exported by the no-op exporter: 1% ${t1.exporter.spans}, 100% ${t100.exporter.spans}; dropped ${t1.queue.stats.dropped + t100.queue.stats.dropped}`);
  const exp = await exportCost(20_000);
  console.log(`${'OTLP http/protobuf export, CPU per span'.padEnd(44)} ${(exp / 1000).toFixed(3).padStart(7)} µs/span (off the call, on the event loop)`);
  const pc = promClientCost(CALLS);
  console.log(`${'prom-client Counter.inc + Histogram.observe'.padEnd(44)} ${(pc / 1000).toFixed(3).padStart(7)} µs/call (for comparison)`);
}

await main();
process.exit(0);
