// The span processor between finished spans (data path: `onEnd` is a push or a counted drop)
// and the OTLP exporter (off the request path: batches on a timer, one export in flight, each
// bounded by a timeout). A slow or absent collector fills the bounded queue; past it spans are
// dropped and counted, and calls never wait. The processor decides when; the exporter how.

import type { Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { log } from '../core/log.js';
import type { ExportQueueSettings } from './telemetry-settings.js';

export interface ExportQueueStats {
  /** Spans handed to the exporter that it reported as delivered. */
  readonly exported: number;
  /** Spans dropped because the queue was full. */
  readonly dropped: number;
  /** Spans in batches that failed or timed out. */
  readonly failed: number;
  /** Spans waiting now. */
  readonly queued: number;
}

export class SpanExportQueue implements SpanProcessor {
  #queue: ReadableSpan[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #closed = false;
  #exported = 0;
  #dropped = 0;
  #failed = 0;
  #failedBatches = 0;
  readonly #max: number;
  readonly #batch: number;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly settings: ExportQueueSettings,
  ) {
    this.#max = settings.maxQueueSize;
    this.#batch = Math.min(settings.maxExportBatchSize, settings.maxQueueSize);
  }

  get stats(): ExportQueueStats {
    return { exported: this.#exported, dropped: this.#dropped, failed: this.#failed, queued: this.#queue.length };
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#closed || (span.spanContext().traceFlags & 1) === 0) return;
    if (this.#queue.length >= this.#max) {
      if (this.#dropped++ % 10_000 === 0) log.warn('trace export falling behind: dropping spans', { dropped: this.#dropped, queue: this.#max });
      return;
    }
    this.#queue.push(span);
    if (this.#inFlight !== undefined) return; // the running export picks the rest up
    if (this.#queue.length >= this.#batch) this.#schedule(0);
    else if (this.#timer === undefined) this.#schedule(this.settings.scheduledDelayMillis);
  }

  /** Exports everything queued now (bounded by the export timeout per batch). */
  async forceFlush(): Promise<void> {
    this.#clearTimer();
    await this.#inFlight;
    while (this.#queue.length > 0) await this.#exportBatch();
  }

  async shutdown(): Promise<void> {
    if (this.#closed) return;
    await this.forceFlush();
    this.#closed = true;
    await this.exporter.shutdown().catch(() => {});
  }

  // A timer even for "now": the export (serialization included) never runs inside the
  // span.end() of a call.
  #schedule(delayMs: number): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#exportBatch().then(() => {
        if (this.#queue.length >= this.#batch) this.#schedule(0);
        else if (this.#queue.length > 0) this.#schedule(this.settings.scheduledDelayMillis);
      });
    }, delayMs);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #exportBatch(): Promise<void> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    if (this.#queue.length === 0) return Promise.resolve();
    const spans = this.#queue.length <= this.#batch ? this.#queue : this.#queue.slice(0, this.#batch);
    this.#queue = spans === this.#queue ? [] : this.#queue.slice(this.#batch);
    let resolve!: () => void;
    const inFlight = new Promise<void>((r) => (resolve = r));
    // Set before export(): an exporter may call back synchronously.
    this.#inFlight = inFlight;
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (ok) this.#exported += spans.length;
      else this.#failed += spans.length;
      if (this.#inFlight === inFlight) this.#inFlight = undefined;
      resolve();
    };
    const timer = setTimeout(() => finish(false), this.settings.exportTimeoutMillis);
    timer.unref();
    try {
      this.exporter.export(spans, (r: ExportResult) => {
        if (r.code !== ExportResultCode.SUCCESS && this.#failedBatches++ % 100 === 0) log.warn('trace export failed', { error: r.error?.message, failedBatches: this.#failedBatches });
        finish(r.code === ExportResultCode.SUCCESS);
      });
    } catch (err) {
      log.warn('trace export threw', { error: String(err) });
      finish(false);
    }
    return inFlight;
  }
}
