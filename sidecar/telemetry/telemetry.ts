// Telemetry assembly for the sidecar process (control path, once at startup): the metrics
// registry and its scrape-time sources, the tracing SDK when an OTLP endpoint is configured
// (loaded only then: the SDK and its exporters are ~33 MB of RSS), and the call observers the
// pipeline runs (spans first, so the audit log sees trace ids).

import type { JwtResultListener } from '../authn/jwt-authn-filter.js';
import type { SidecarConfig } from '../config/schema.js';
import { log } from '../core/log.js';
import { packageInfo } from '../core/package-info.js';
import type { CallObserver } from '../core/observer.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { AuditLog } from './audit-log.js';
import { certificateExpiryCollector, MeshwardMetrics } from './meshward-metrics.js';
import { renderSingle } from './metric-family.js';
import { jwtValidationCounter, metricsObserver } from './metrics-observer.js';
import { MethodLabels } from './method-label.js';
import { resolveTracingSettings, type TracingSettings } from './telemetry-settings.js';
import type { Tracing } from './tracing-setup.js';

export interface TelemetryDeps {
  readonly policies: PolicyStore;
  /** The current workload certificate's notAfter (ms), read at each scrape. */
  readonly certificateNotAfter: () => number | undefined;
  readonly audit?: AuditLog;
  readonly env?: NodeJS.ProcessEnv;
}

export interface Telemetry {
  /** Observers for the inbound pipeline, in order. */
  readonly inboundObservers: readonly CallObserver[];
  /** Observers for the outbound pipeline: CLIENT spans and outbound request metrics. */
  readonly outboundObservers: readonly CallObserver[];
  readonly jwtResults: JwtResultListener;
  readonly metrics: MeshwardMetrics;
  readonly tracing: Tracing | undefined;
  /** The effective tracing settings, for /config. */
  readonly settings: TracingSettings;
  /** Flushes queued spans (bounded) and stops the SDK. */
  shutdown(timeoutMs?: number): Promise<void>;
}

export async function startTelemetry(config: SidecarConfig, deps: TelemetryDeps): Promise<Telemetry> {
  const metrics = new MeshwardMetrics();
  const labels = new MethodLabels(deps.policies);
  deps.policies.onReload((result) => metrics.policyReloads.get1(result).value++);
  metrics.addCollector(certificateExpiryCollector(deps.certificateNotAfter));

  const settings = resolveTracingSettings(config.telemetry, deps.env ?? process.env);
  for (const p of settings.problems) log.warn(`telemetry: ${p}`);
  let tracing: Tracing | undefined;
  let traceObserver: typeof import('./trace-observer.js').traceObserver | undefined;
  if (settings.enabled) {
    const [setup, observer] = await Promise.all([import('./tracing-setup.js'), import('./trace-observer.js')]);
    traceObserver = observer.traceObserver;
    tracing = setup.startTracing(settings, packageInfo().version);
    const queue = tracing.queue;
    metrics.addCollector(() => {
      const s = queue.stats;
      return (
        renderSingle('meshward_trace_spans_exported_total', 'Spans the collector accepted.', 'counter', s.exported) +
        renderSingle('meshward_trace_spans_dropped_total', 'Spans dropped: export queue full (collector slow or down).', 'counter', s.dropped) +
        renderSingle('meshward_trace_spans_failed_total', 'Spans in export batches that failed or timed out.', 'counter', s.failed) +
        renderSingle('meshward_trace_export_queue_spans', 'Spans waiting for export.', 'gauge', s.queued)
      );
    });
    log.info('tracing on', {
      why: settings.why,
      serviceName: settings.serviceName,
      protocol: settings.protocol,
      url: settings.url,
      sampling: settings.sampling.description,
      propagation: settings.propagation,
      maxQueueSize: settings.queue.maxQueueSize,
    });
  } else {
    log.info('tracing off', { why: settings.why });
  }
  const audit = deps.audit;
  if (audit !== undefined) {
    metrics.addCollector(() => {
      const s = audit.stats;
      return (
        renderSingle('meshward_audit_records_written_total', 'Audit records written.', 'counter', s.written) +
        renderSingle('meshward_audit_records_dropped_total', 'Audit records dropped because the destination fell behind.', 'counter', s.dropped)
      );
    });
  }

  const inboundObservers: CallObserver[] = [];
  if (tracing !== undefined && traceObserver !== undefined) inboundObservers.push(traceObserver({ ...tracing, labels }));
  inboundObservers.push(metricsObserver(metrics, labels, { protocol: 'grpc', direction: 'inbound' }));
  const outboundObservers: CallObserver[] = [];
  if (tracing !== undefined && traceObserver !== undefined) outboundObservers.push(traceObserver({ ...tracing, labels, kind: 'client' }));
  outboundObservers.push(metricsObserver(metrics, labels, { protocol: 'grpc', direction: 'outbound' }));

  return {
    inboundObservers,
    outboundObservers,
    jwtResults: jwtValidationCounter(metrics),
    metrics,
    tracing,
    settings,
    shutdown: async (timeoutMs = 3000) => {
      await tracing?.shutdown(timeoutMs);
    },
  };
}

/** The tracing settings after the environment, for GET /config (no headers: they may hold secrets). */
export function effectiveTracing(s: TracingSettings): Record<string, unknown> & { enabled: boolean } {
  return {
    enabled: s.enabled,
    why: s.why,
    serviceName: s.serviceName,
    protocol: s.protocol,
    url: s.url.replace(/\/\/[^@/]*@/, '//***@'),
    sampling: s.sampling.description,
    propagation: s.propagation,
    queue: s.queue,
  };
}
