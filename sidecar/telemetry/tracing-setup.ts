// Starts the OpenTelemetry SDK for meshward's spans (control path, once at startup): NodeSDK
// with the resource (service name, version, host and process detectors, OTEL_RESOURCE_ATTRIBUTES),
// one OTLP exporter for the configured protocol behind meshward's bounded export queue, and
// no metrics or logs pipelines (metrics are Prometheus, on the admin listener).

import { trace, type ContextManager, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOnSampler, type IdGenerator, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createSampler, type Sampler } from './sampling.js';
import { SpanExportQueue } from './span-export-queue.js';
import type { PropagationMode, TracingSettings } from './telemetry-settings.js';
import { newSpanId, newTraceId } from './trace-context.js';

export interface Tracing {
  readonly tracer: Tracer;
  readonly sampler: Sampler;
  readonly ids: PresetIdGenerator;
  readonly propagation: PropagationMode;
  readonly queue: SpanExportQueue;
  /** Exports what is queued (bounded by `timeoutMs`) and stops the SDK. */
  shutdown(timeoutMs: number): Promise<void>;
}

/**
 * The SDK's id source. meshward samples a root call on a trace id it made before asking the
 * SDK for a span (trace-observer.ts); `preset` hands that id to the SDK's next root span, so
 * the exported trace id is the one the ratio was applied to.
 */
export class PresetIdGenerator implements IdGenerator {
  #next: string | undefined;

  preset(traceId: string | undefined): void {
    this.#next = traceId;
  }

  generateTraceId(): string {
    const id = this.#next;
    this.#next = undefined;
    return id ?? newTraceId();
  }

  generateSpanId(): string {
    return newSpanId();
  }
}

export function createExporter(settings: Pick<TracingSettings, 'protocol' | 'url'>): SpanExporter {
  // Headers, timeout, compression and TLS files come from OTEL_EXPORTER_OTLP_* as the SDK reads them.
  switch (settings.protocol) {
    case 'grpc':
      return new GrpcExporter({ url: settings.url }) as unknown as SpanExporter;
    case 'http/json':
      return new JsonExporter({ url: settings.url }) as unknown as SpanExporter;
    default:
      return new ProtoExporter({ url: settings.url }) as unknown as SpanExporter;
  }
}

export function startTracing(settings: TracingSettings, serviceVersion: string): Tracing {
  const ids = new PresetIdGenerator();
  const queue = new SpanExportQueue(createExporter(settings), settings.queue);
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    resource: defaultResource().merge(resourceFromAttributes({ 'service.version': serviceVersion })),
    // meshward decides before a span exists (sampling.ts); the SDK records what it is given.
    sampler: new AlwaysOnSampler(),
    idGenerator: ids,
    spanProcessors: [queue],
    // No metrics or logs exporters (the SDK would default both to OTLP), no instrumentations.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
    // Contexts are passed explicitly. No AsyncLocalStorage context manager: it would tax every
    // async step of every call, sampled or not. (null = "do not register" in NodeSDK.)
    contextManager: null as unknown as ContextManager,
    // The W3C path parses traceparent itself; only other propagators need the global one.
    textMapPropagator: settings.propagation === 'sdk' ? undefined : null,
  } as ConstructorParameters<typeof NodeSDK>[0]);
  sdk.start();
  // The global provider is a proxy; use the SDK's tracer directly (one indirection less per span).
  const provider = trace.getTracerProvider() as { getDelegate?: () => { getTracer(name: string, version?: string): Tracer } };
  const tracer = (provider.getDelegate?.() ?? trace.getTracerProvider()).getTracer('meshward', serviceVersion);

  return {
    tracer,
    sampler: createSampler(settings.sampling),
    ids,
    propagation: settings.propagation,
    queue,
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([sdk.shutdown().catch(() => {}), timeout]);
      clearTimeout(timer);
    },
  };
}
