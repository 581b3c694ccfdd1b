import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parentBasedRatio } from './sampling.js';
import { resolveTracingSettings } from './telemetry-settings.js';

const none = {};

test('nothing configured: tracing off, defaults otherwise', () => {
  const s = resolveTracingSettings(none, {});
  assert.equal(s.enabled, false);
  assert.equal(s.serviceName, 'meshward');
  assert.equal(s.protocol, 'http/protobuf');
  assert.equal(s.url, 'http://localhost:4318/v1/traces');
  assert.deepEqual(s.sampling, parentBasedRatio(1));
  assert.equal(s.propagation, 'w3c');
  assert.deepEqual(s.queue, { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 5000, exportTimeoutMillis: 30000 });
  assert.deepEqual(s.problems, []);
});

test('the file: endpoint gets /v1/traces for HTTP, stays as is for gRPC', () => {
  assert.equal(resolveTracingSettings({ otlp: { endpoint: 'http://jaeger:4318' } }, {}).url, 'http://jaeger:4318/v1/traces');
  assert.equal(resolveTracingSettings({ otlp: { endpoint: 'http://jaeger:4318/' } }, {}).url, 'http://jaeger:4318/v1/traces');
  const g = resolveTracingSettings({ otlp: { endpoint: 'http://jaeger:4317', protocol: 'grpc' } }, {});
  assert.equal(g.url, 'http://jaeger:4317');
  assert.equal(g.enabled, true);
  assert.equal(g.why, 'telemetry.otlp.endpoint');
});

test('the environment alone (OpenTelemetry SDK configuration)', () => {
  const s = resolveTracingSettings(none, {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'orders',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.01',
    OTEL_PROPAGATORS: 'tracecontext,baggage',
    OTEL_BSP_MAX_QUEUE_SIZE: '100',
  });
  assert.equal(s.enabled, true);
  assert.equal(s.url, 'http://collector:4318/v1/traces');
  assert.equal(s.protocol, 'http/json');
  assert.equal(s.serviceName, 'orders');
  assert.deepEqual(s.sampling, parentBasedRatio(0.01));
  assert.equal(s.propagation, 'w3c');
  assert.equal(s.queue.maxQueueSize, 100);
  // The signal-specific endpoint is used as it is, and wins over the generic one.
  const t = resolveTracingSettings(none, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom' });
  assert.equal(t.url, 'http://b:9999/custom');
  assert.equal(resolveTracingSettings(none, { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol, 'grpc');
  assert.equal(resolveTracingSettings(none, { OTEL_RESOURCE_ATTRIBUTES: 'team=a,service.name=billing%20api' }).serviceName, 'billing api');
});

test('the file overrides the environment only where it sets a value', () => {
  const env = { OTEL_SERVICE_NAME: 'env-name', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_TRACES_SAMPLER: 'always_off', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4317' };
  const partial = resolveTracingSettings({ otlp: { endpoint: 'http://file:4318' } }, env);
  assert.equal(partial.serviceName, 'env-name');
  assert.equal(partial.protocol, 'grpc', 'protocol not set in the file: the environment applies');
  assert.equal(partial.url, 'http://file:4318');
  assert.equal(partial.sampling.description, 'always_off');
  const full = resolveTracingSettings({ serviceName: 'file-name', otlp: { endpoint: 'http://file:4318', protocol: 'http/protobuf' }, sampling: 0.5 }, env);
  assert.equal(full.serviceName, 'file-name');
  assert.equal(full.protocol, 'http/protobuf');
  assert.equal(full.url, 'http://file:4318/v1/traces');
  assert.deepEqual(full.sampling, parentBasedRatio(0.5));
});

test('switches off, unsupported values reported', () => {
  assert.equal(resolveTracingSettings({ otlp: { endpoint: 'http://x:4318' } }, { OTEL_SDK_DISABLED: 'true' }).enabled, false);
  assert.equal(resolveTracingSettings({ otlp: { endpoint: 'http://x:4318' } }, { OTEL_TRACES_EXPORTER: 'none' }).enabled, false);
  assert.equal(resolveTracingSettings(none, { OTEL_TRACES_EXPORTER: 'otlp' }).enabled, true);
  const s = resolveTracingSettings(none, { OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift', OTEL_BSP_SCHEDULE_DELAY: '-1', OTEL_PROPAGATORS: 'xray' });
  assert.equal(s.protocol, 'http/protobuf');
  assert.equal(s.queue.scheduledDelayMillis, 5000);
  assert.equal(s.problems.length, 4, s.problems.join('\n'));
  assert.equal(resolveTracingSettings(none, { OTEL_PROPAGATORS: 'b3' }).propagation, 'sdk');
  assert.equal(resolveTracingSettings(none, { OTEL_PROPAGATORS: 'none' }).propagation, 'none');
  assert.equal(resolveTracingSettings(none, { OTEL_SERVICE_NAME: '  ' }).serviceName, 'meshward');
});
