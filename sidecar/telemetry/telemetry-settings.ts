// The effective tracing settings (control path, once at startup): DESIGN §3 `telemetry` keys
// over the OpenTelemetry environment variables (SDK configuration spec), the file winning only
// where it sets a value, then the defaults. Pure: the environment is a parameter.

import { parentBasedRatio, samplingRuleFromEnv, type SamplingRule } from './sampling.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

/** The `telemetry` section of the sidecar config, validated (config/schema.ts). */
export interface TelemetryFileSettings {
  readonly serviceName?: string | undefined;
  readonly otlp?: { readonly endpoint: string; readonly protocol?: OtlpProtocol | undefined } | undefined;
  readonly sampling?: number | undefined;
}
/** w3c: meshward's own traceparent parser; sdk: the propagators of OTEL_PROPAGATORS via the API; none: no propagation. */
export type PropagationMode = 'w3c' | 'sdk' | 'none';

export interface ExportQueueSettings {
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMillis: number;
  readonly exportTimeoutMillis: number;
}

export interface TracingSettings {
  readonly enabled: boolean;
  /** Why tracing is on or off, for the startup log. */
  readonly why: string;
  readonly serviceName: string;
  readonly protocol: OtlpProtocol;
  /** The exporter's full URL (…/v1/traces for HTTP). */
  readonly url: string;
  readonly sampling: SamplingRule;
  readonly propagation: PropagationMode;
  readonly queue: ExportQueueSettings;
  /** Environment values that were ignored, with the reason; logged once at startup. */
  readonly problems: readonly string[];
}

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];

export function resolveTracingSettings(file: TelemetryFileSettings, env: NodeJS.ProcessEnv = process.env): TracingSettings {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };

  const protocol = file.otlp?.protocol ?? envProtocol(str('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? str('OTEL_EXPORTER_OTLP_PROTOCOL'), problems);
  const http = protocol !== 'grpc';
  // A base endpoint (the file's, OTEL_EXPORTER_OTLP_ENDPOINT) gets the signal path for HTTP;
  // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as it is (SDK configuration spec).
  const base = file.otlp?.endpoint;
  const url =
    base !== undefined
      ? withSignalPath(base, http)
      : (str('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? withSignalPath(str('OTEL_EXPORTER_OTLP_ENDPOINT') ?? (http ? 'http://localhost:4318' : 'http://localhost:4317'), http));

  const exporters = (str('OTEL_TRACES_EXPORTER') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const e of exporters) if (e !== 'otlp' && e !== 'none') problems.push(`OTEL_TRACES_EXPORTER value "${e}" is not supported (otlp, none)`);
  let enabled: boolean;
  let why: string;
  if (str('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') [enabled, why] = [false, 'OTEL_SDK_DISABLED=true'];
  else if (exporters.length === 1 && exporters[0] === 'none') [enabled, why] = [false, 'OTEL_TRACES_EXPORTER=none'];
  else if (base !== undefined) [enabled, why] = [true, 'telemetry.otlp.endpoint'];
  else if (str('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined) [enabled, why] = [true, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
  else if (str('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined) [enabled, why] = [true, 'OTEL_EXPORTER_OTLP_ENDPOINT'];
  else if (exporters.includes('otlp')) [enabled, why] = [true, 'OTEL_TRACES_EXPORTER=otlp'];
  // Unlike the SDK default, a sidecar in every pod does not send to localhost:4318 unasked.
  else [enabled, why] = [false, 'no OTLP endpoint (telemetry.otlp or OTEL_EXPORTER_OTLP_ENDPOINT)'];

  const serviceName = file.serviceName ?? str('OTEL_SERVICE_NAME') ?? serviceNameFromResource(str('OTEL_RESOURCE_ATTRIBUTES')) ?? 'meshward';
  const sampling = file.sampling !== undefined ? parentBasedRatio(file.sampling) : (samplingRuleFromEnv(env, problems) ?? parentBasedRatio(1));

  return {
    enabled,
    why,
    serviceName,
    protocol,
    url,
    sampling,
    propagation: propagationMode(str('OTEL_PROPAGATORS'), problems),
    queue: {
      maxQueueSize: count(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, problems, 1),
      maxExportBatchSize: count(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, problems, 1),
      scheduledDelayMillis: count(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, problems, 0),
      exportTimeoutMillis: count(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30000, problems, 1),
    },
    problems,
  };
}

function envProtocol(value: string | undefined, problems: string[]): OtlpProtocol {
  if (value === undefined) return 'http/protobuf';
  if ((PROTOCOLS as readonly string[]).includes(value)) return value as OtlpProtocol;
  problems.push(`OTLP protocol "${value}" is not supported (${PROTOCOLS.join(', ')}); using http/protobuf`);
  return 'http/protobuf';
}

function withSignalPath(base: string, http: boolean): string {
  if (!http) return base;
  return base.endsWith('/') ? `${base}v1/traces` : `${base}/v1/traces`;
}

/** `service.name` from OTEL_RESOURCE_ATTRIBUTES (`k=v,k=v`, values percent-encoded). */
function serviceNameFromResource(attrs: string | undefined): string | undefined {
  for (const pair of attrs?.split(',') ?? []) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === 'service.name') {
      try {
        const v = decodeURIComponent(pair.slice(eq + 1).trim());
        if (v !== '') return v;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function propagationMode(value: string | undefined, problems: string[]): PropagationMode {
  if (value === undefined) return 'w3c'; // the default: tracecontext,baggage (baggage passes through untouched)
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.includes('none')) return 'none';
  if (names.includes('tracecontext') && names.every((n) => n === 'tracecontext' || n === 'baggage')) return 'w3c';
  const known = ['tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger'];
  for (const n of names) if (!known.includes(n)) problems.push(`OTEL_PROPAGATORS value "${n}" is not supported (${known.join(', ')}, none)`);
  return names.some((n) => n !== 'baggage' && known.includes(n)) ? 'sdk' : 'none';
}

function count(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[], min: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= min) return n;
  problems.push(`${name}=${JSON.stringify(raw)} is not an integer >= ${min}; using ${fallback}`);
  return fallback;
}
