import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { AlwaysOnSampler, BasicTracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { SpanExportQueue } from './span-export-queue.js';

/** An exporter that records batches and answers when told to (or never). */
class ManualExporter implements SpanExporter {
  batches: ReadableSpan[][] = [];
  #pending: Array<(r: ExportResult) => void> = [];
  constructor(private readonly mode: 'ok' | 'fail' | 'manual' | 'throw' = 'ok') {}
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    if (this.mode === 'throw') throw new Error('boom');
    this.batches.push(spans);
    if (this.mode === 'ok') setImmediate(() => done({ code: ExportResultCode.SUCCESS }));
    else if (this.mode === 'fail') setImmediate(() => done({ code: ExportResultCode.FAILED, error: new Error('down') }));
    else this.#pending.push(done);
  }
  answerAll(): void {
    for (const d of this.#pending.splice(0)) d({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

const settings = { maxQueueSize: 10, maxExportBatchSize: 4, scheduledDelayMillis: 5, exportTimeoutMillis: 50 };

function tracerWith(queue: SpanExportQueue) {
  return new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [queue] }).getTracer('t');
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls (bounded) until `ok()`: timers on a loaded machine fire late, never early. */
async function until(ok: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok() && Date.now() < deadline) await settle(5);
}

test('batches on a timer and in batch-size chunks, never inside span.end()', async () => {
  const exporter = new ManualExporter('ok');
  const queue = new SpanExportQueue(exporter, settings);
  const tracer = tracerWith(queue);
  for (let i = 0; i < 6; i++) tracer.startSpan(`s${i}`).end();
  assert.equal(exporter.batches.length, 0, 'nothing exported synchronously');
  await until(() => queue.stats.exported === 6);
  assert.deepEqual(exporter.batches.map((b) => b.length), [4, 2]);
  assert.deepEqual(queue.stats, { exported: 6, dropped: 0, failed: 0, queued: 0 });
});

test('a stuck collector: one export in flight, the queue bounded, the rest dropped and counted', async () => {
  const exporter = new ManualExporter('manual');
  const queue = new SpanExportQueue(exporter, { ...settings, exportTimeoutMillis: 10_000 });
  const tracer = tracerWith(queue);
  for (let i = 0; i < 4; i++) tracer.startSpan('s').end();
  await until(() => exporter.batches.length === 1); // first batch of 4 now in flight
  for (let i = 0; i < 30; i++) tracer.startSpan('s').end();
  await settle(20);
  assert.equal(exporter.batches.length, 1);
  assert.deepEqual(queue.stats, { exported: 0, dropped: 20, failed: 0, queued: 10 });
  await until(() => {
    exporter.answerAll();
    return queue.stats.exported === 14;
  });
  assert.deepEqual(queue.stats, { exported: 14, dropped: 20, failed: 0, queued: 0 });
});

test('export timeouts and failures are counted, and the queue moves on', async () => {
  const hung = new ManualExporter('manual');
  const q1 = new SpanExportQueue(hung, settings);
  for (let i = 0; i < 3; i++) tracerWith(q1).startSpan('s').end();
  await until(() => q1.stats.failed === 3);
  assert.deepEqual(q1.stats, { exported: 0, dropped: 0, failed: 3, queued: 0 });

  const failing = new ManualExporter('fail');
  const q2 = new SpanExportQueue(failing, settings);
  for (let i = 0; i < 5; i++) tracerWith(q2).startSpan('s').end();
  await until(() => q2.stats.failed === 5);
  assert.deepEqual(q2.stats, { exported: 0, dropped: 0, failed: 5, queued: 0 });

  const throwing = new SpanExportQueue(new ManualExporter('throw'), settings);
  tracerWith(throwing).startSpan('s').end();
  await until(() => throwing.stats.failed === 1);
  assert.equal(throwing.stats.failed, 1);
});

test('unsampled spans are not queued; shutdown flushes then stops accepting', async () => {
  const exporter = new ManualExporter('ok');
  const queue = new SpanExportQueue(exporter, { ...settings, scheduledDelayMillis: 60_000 });
  const tracer = tracerWith(queue);
  for (let i = 0; i < 3; i++) tracer.startSpan('s').end();
  await queue.shutdown();
  assert.equal(queue.stats.exported, 3);
  tracer.startSpan('late').end();
  assert.equal(queue.stats.queued, 0);
  const unsampled = new SpanExportQueue(exporter, settings);
  unsampled.onEnd({ spanContext: () => ({ traceId: 'a', spanId: 'b', traceFlags: 0 }) } as unknown as ReadableSpan);
  assert.equal(unsampled.stats.queued, 0);
});
