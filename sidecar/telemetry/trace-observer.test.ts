import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { SpanKind, SpanStatusCode, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import { AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { CallContext } from '../core/filter.js';
import { auditObserver } from './audit-record.js';
import type { AuditRecord } from './audit-log.js';
import { decide, fakeCall, outcome, runCall, snapshotOf } from './fake-call.js';
import { MethodLabels } from './method-label.js';
import { createSampler, parentBasedRatio } from './sampling.js';
import type { PropagationMode } from './telemetry-settings.js';
import { traceObserver } from './trace-observer.js';
import { PresetIdGenerator } from './tracing-setup.js';

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: t }
spec:
  grpc:
    - methods: ["demo.v1.Echo/Unary"]
      allow: [ { principals: ["spiffe://cluster.local/ns/web/sa/frontend"] } ]
    - methods: ["demo.v1.Echo/Denied"]
      allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
    - methods: ["demo.v1.Wild/*"]
      allow: [ { principals: ["*"] } ]
`;
const snapshot = snapshotOf(POLICY);
const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

let exporter: InMemorySpanExporter;
function observer(ratio = 1, mode: PropagationMode = 'w3c') {
  exporter = new InMemorySpanExporter();
  const ids = new PresetIdGenerator();
  const provider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), idGenerator: ids, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return traceObserver({
    tracer: provider.getTracer('meshward'),
    sampler: createSampler(parentBasedRatio(ratio)),
    ids,
    propagation: mode,
    labels: new MethodLabels({ current: snapshot }),
  });
}

function call(path: string, headers: Record<string, string> = {}, status = 0, principal?: string): CallContext {
  const ctx = fakeCall(path, headers, principal);
  runCall([obs], ctx, snapshot, (r) => outcome(r === undefined ? status : 7));
  return ctx;
}

let obs = observer();
beforeEach(() => {
  obs = observer();
});

describe('SERVER span per call', () => {
  test('continues the caller trace; the app gets meshward as parent; semconv attributes', () => {
    const ctx = call('/demo.v1.Echo/Unary', { traceparent: `00-${T}-${S}-01`, tracestate: 'a=1' });
    const [span] = exporter.getFinishedSpans();
    assert.ok(span);
    assert.equal(span.name, 'demo.v1.Echo/Unary');
    assert.equal(span.kind, SpanKind.SERVER);
    assert.equal(span.spanContext().traceId, T);
    assert.equal(span.parentSpanContext?.spanId, S);
    assert.equal(span.parentSpanContext?.isRemote, true);
    assert.equal(span.spanContext().traceState?.serialize(), 'a=1');
    assert.deepEqual(span.attributes, {
      'rpc.system': 'grpc',
      'rpc.service': 'demo.v1.Echo',
      'rpc.method': 'Unary',
      'rpc.grpc.status_code': 0,
      'meshward.decision': 'allow',
      'meshward.reason': 'allowed',
      'meshward.rule': 't:grpc[0]',
      'meshward.principal': 'spiffe://cluster.local/ns/web/sa/frontend',
      'meshward.policy_version': snapshot.version,
    });
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    assert.equal(span.events.length, 0);
    assert.deepEqual(ctx.trace?.appHeaders, { traceparent: `00-${T}-${span.spanContext().spanId}-01` });
    assert.equal(ctx.trace?.spanId, span.spanContext().spanId);
    assert.equal(ctx.trace?.sampled, true);
  });

  test('span times are the call times', () => {
    const ctx = { ...fakeCall('/demo.v1.Echo/Unary'), startedAt: performance.now() - 300 };
    obs.started!(ctx);
    ctx.rejection = decide(ctx, snapshot);
    obs.decided!(ctx, undefined);
    obs.ended!(ctx, outcome(0, { durationMs: 250 }));
    const [span] = exporter.getFinishedSpans();
    const ms = span!.duration[0] * 1000 + span!.duration[1] / 1e6;
    assert.ok(Math.abs(ms - 250) < 0.01, `duration ${ms} ms`);
  });

  test('a denial: event with reason, rule, detail; status unset for 7', () => {
    call('/demo.v1.Echo/Denied', { traceparent: `00-${T}-${S}-01` });
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.attributes['meshward.decision'], 'deny');
    assert.equal(span?.attributes['rpc.grpc.status_code'], 7);
    assert.equal(span?.status.code, SpanStatusCode.UNSET);
    assert.deepEqual(
      span?.events.map((e) => [e.name, e.attributes]),
      [['meshward.refused', { 'meshward.reason': 'no_allow_match', 'meshward.code': 'PERMISSION_DENIED', 'meshward.rule': 't:grpc[1]', 'meshward.detail': 'test detail' }]],
    );
  });

  test('span status follows the gRPC server conventions', () => {
    const errors = [2, 4, 12, 13, 14, 15];
    for (let code = 0; code <= 16; code++) {
      exporter.reset();
      call('/demo.v1.Echo/Unary', {}, code);
      const [span] = exporter.getFinishedSpans();
      assert.equal(span?.status.code, errors.includes(code) ? SpanStatusCode.ERROR : SpanStatusCode.UNSET, `code ${code}`);
    }
  });

  test('resets: CANCEL is CANCELLED (1), other codes are errors', () => {
    for (const [rst, error] of [[8, false], [2, true]] as const) {
      exporter.reset();
      const ctx = fakeCall('/demo.v1.Echo/Unary');
      runCall([obs], ctx, snapshot, () => outcome(undefined, { httpStatus: undefined, rstCode: rst }));
      const [span] = exporter.getFinishedSpans();
      assert.equal(span?.status.code, error ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
      assert.equal(span?.attributes['rpc.grpc.status_code'], error ? undefined : 1);
      assert.equal(span?.events[0]?.name, 'meshward.stream_reset');
    }
  });

  test('unknown and malformed methods are named _OTHER; a wildcard method once the app implements it', () => {
    call('/scan.x.Svc/Random1');
    call('/demo.v1.Echo/../Unary');
    call('/demo.v1.Wild/Nope', {}, 12);
    call('/demo.v1.Wild/Real', {}, 0);
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => s.name), ['_OTHER', '_OTHER', '_OTHER', 'demo.v1.Wild/Real']);
    assert.equal(spans[1]?.attributes['meshward.path'], '/demo.v1.Echo/../Unary');
    assert.equal(spans[1]?.attributes['rpc.method'], undefined);
    assert.equal(spans[0]?.attributes['rpc.method'], 'Random1', 'the attribute keeps the name; only the span name is bounded');
  });

  test('without a traceparent: a root span whose ids the app receives', () => {
    const ctx = call('/demo.v1.Echo/Unary');
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.parentSpanContext, undefined);
    assert.deepEqual(ctx.trace?.appHeaders, { traceparent: `00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01` });
  });

  test('an invalid traceparent starts a new trace and drops the caller tracestate', () => {
    const ctx = call('/demo.v1.Echo/Unary', { traceparent: `00-${T}-${S}-zz`, tracestate: 'a=1' });
    const [span] = exporter.getFinishedSpans();
    assert.notEqual(span?.spanContext().traceId, T);
    assert.ok('tracestate' in ctx.trace!.appHeaders);
    assert.equal(ctx.trace!.appHeaders.tracestate, undefined);
  });
});

describe('sampling', () => {
  test('an unsampled caller: no span, a new span id for the app with sampled=0', () => {
    const ctx = call('/demo.v1.Echo/Unary', { traceparent: `00-${T}-${S}-00` });
    assert.equal(exporter.getFinishedSpans().length, 0);
    assert.equal(ctx.trace?.sampled, false);
    assert.equal(ctx.trace?.traceId, T);
    assert.notEqual(ctx.trace?.spanId, S);
    assert.deepEqual(ctx.trace?.appHeaders, { traceparent: `00-${T}-${ctx.trace!.spanId}-00` });
  });

  test('ratio 0 for roots: no span, but the app is told the trace is not sampled', () => {
    obs = observer(0);
    const ctx = call('/demo.v1.Echo/Unary');
    assert.equal(exporter.getFinishedSpans().length, 0);
    assert.match(String(ctx.trace?.appHeaders.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    // A sampled caller is still followed.
    call('/demo.v1.Echo/Unary', { traceparent: `00-${T}-${S}-01` });
    assert.equal(exporter.getFinishedSpans().length, 1);
  });

  test('a sampled root keeps the trace id the ratio was applied to', () => {
    obs = observer(0.5);
    let sampled = 0;
    for (let i = 0; i < 400; i++) {
      const ctx = call('/demo.v1.Echo/Unary');
      if (ctx.trace?.sampled) sampled++;
    }
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, sampled);
    assert.ok(sampled > 120 && sampled < 280, `sampled ${sampled} of 400`);
    const sampler = createSampler(parentBasedRatio(0.5));
    for (const s of spans) assert.equal(sampler.sample(undefined, s.spanContext().traceId), true);
  });
});

describe('propagation modes and the audit log', () => {
  // A b3-like single-header propagator, standing in for those OTEL_PROPAGATORS can name.
  const single: TextMapPropagator = {
    fields: () => ['x-trace', 'x-trace-debug'],
    inject(context, carrier: Record<string, string>, setter) {
      const sc = trace.getSpanContext(context);
      if (sc) setter.set(carrier, 'x-trace', `${sc.traceId}-${sc.spanId}-${sc.traceFlags & 1}`);
    },
    extract(context, carrier, getter) {
      const [traceId, spanId, flag] = String(getter.get(carrier, 'x-trace') ?? '').split('-');
      if (!traceId || !spanId) return context;
      return trace.setSpanContext(context, { traceId, spanId, traceFlags: Number(flag), isRemote: true });
    },
  };

  test('OTEL_PROPAGATORS other than tracecontext: extracted and injected with the SDK propagator', () => {
    propagation.setGlobalPropagator(single);
    try {
      obs = observer(1, 'sdk');
      const ctx = call('/demo.v1.Echo/Unary', { 'x-trace': `${T}-${S}-1`, 'x-trace-debug': '1' });
      const [span] = exporter.getFinishedSpans();
      assert.equal(span?.spanContext().traceId, T);
      assert.equal(span?.parentSpanContext?.spanId, S);
      // meshward's span is the parent; a field the propagator did not set is removed.
      assert.deepEqual(ctx.trace?.appHeaders, { 'x-trace': `${T}-${span!.spanContext().spanId}-1`, 'x-trace-debug': undefined });
    } finally {
      propagation.disable();
    }
  });

  test('OTEL_PROPAGATORS=none: the caller trace is ignored and nothing is injected', () => {
    obs = observer(1, 'none');
    const ctx = call('/demo.v1.Echo/Unary', { traceparent: `00-${T}-${S}-01` });
    const [span] = exporter.getFinishedSpans();
    assert.notEqual(span?.spanContext().traceId, T);
    assert.deepEqual(ctx.trace?.appHeaders, {});
  });

  test('audit records carry the call trace and span ids', () => {
    const records: AuditRecord[] = [];
    const audit = auditObserver({ write: (r) => records.push(r) }, { current: snapshot } as never);
    const ctx = fakeCall('/demo.v1.Echo/Denied', { traceparent: `00-${T}-${S}-01` });
    runCall([obs, audit], ctx, snapshot, () => outcome(7));
    const [span] = exporter.getFinishedSpans();
    assert.equal(records.length, 1);
    assert.equal(records[0]?.trace_id, T);
    assert.equal(records[0]?.span_id, span?.spanContext().spanId);
    // Without tracing the ids stay null.
    const plain = fakeCall('/demo.v1.Echo/Denied');
    runCall([audit], plain, snapshot, () => outcome(7));
    assert.equal(records[1]?.trace_id, null);
    assert.equal(records[1]?.span_id, null);
  });
});

describe('GraphQL calls are HTTP server spans', () => {
  function graphqlCall(httpMethod: string, status: number | undefined, rejection?: { code: 'NOT_FOUND' | 'GRAPHQL_LIMIT'; reason: string }): void {
    const ctx = { ...fakeCall('/graphql'), protocol: 'graphql' as const, httpMethod };
    obs.started!(ctx);
    ctx.graphql = { operationType: 'query', operationName: 'Me', cost: 3, operations: 1 };
    obs.decided!(ctx, rejection);
    obs.ended!(ctx, { grpcStatus: undefined, httpStatus: status, rstCode: status === undefined ? 8 : undefined, durationMs: 1 });
  }

  test('HTTP semantic conventions and the GraphQL ones; no rpc.* attribute', () => {
    graphqlCall('POST', 200);
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.name, 'query Me');
    assert.equal(span?.kind, SpanKind.SERVER);
    const a = span!.attributes;
    assert.equal(a['http.request.method'], 'POST');
    assert.equal(a['url.path'], '/graphql');
    assert.equal(a['http.route'], '/graphql');
    assert.equal(a['http.response.status_code'], 200);
    assert.equal(a['graphql.operation.type'], 'query');
    assert.equal(a['graphql.operation.name'], 'Me');
    assert.deepEqual(Object.keys(a).filter((k) => k.startsWith('rpc.')), []);
    assert.equal(span?.status.code, SpanStatusCode.UNSET);
  });

  test('4xx is the caller\'s error (UNSET), 5xx and a reset are ERROR; unknown methods are _OTHER; no route for a 404', () => {
    graphqlCall('GET', 400, { code: 'GRAPHQL_LIMIT', reason: 'graphql_depth_limit' });
    graphqlCall('POST', 503);
    graphqlCall('POST', undefined);
    graphqlCall('BREW', 404, { code: 'NOT_FOUND', reason: 'not_found' });
    const [limit, unavailable, reset, notFound] = exporter.getFinishedSpans();
    assert.equal(limit?.status.code, SpanStatusCode.UNSET);
    assert.equal(limit?.attributes['http.request.method'], 'GET');
    assert.equal(unavailable?.status.code, SpanStatusCode.ERROR);
    assert.equal(reset?.status.code, SpanStatusCode.ERROR);
    assert.equal(reset?.attributes['rpc.grpc.status_code'], undefined);
    assert.equal(notFound?.attributes['http.request.method'], '_OTHER');
    assert.equal(notFound?.attributes['http.route'], undefined);
  });
});

describe('CLIENT span names are bounded', () => {
  test('the first 1000 distinct outbound methods keep their names; later ones are _OTHER (rpc.method still set)', () => {
    exporter = new InMemorySpanExporter();
    const ids = new PresetIdGenerator();
    const provider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), idGenerator: ids, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const client = traceObserver({ tracer: provider.getTracer('m'), sampler: createSampler(parentBasedRatio(1)), ids, propagation: 'w3c', labels: new MethodLabels({ current: snapshot }), kind: 'client' });
    const send = (path: string) => {
      const ctx = fakeCall(path);
      runCall([client], ctx, snapshot, () => outcome(0));
    };
    for (let i = 0; i < 1001; i++) send(`/scan.Svc${i}/M`);
    send('/scan.Svc0/M');
    const spans = exporter.getFinishedSpans();
    assert.equal(spans[0]?.name, 'scan.Svc0/M');
    assert.equal(spans[999]?.name, 'scan.Svc999/M');
    assert.equal(spans[1000]?.name, '_OTHER');
    assert.equal(spans[1000]?.attributes['rpc.service'], 'scan.Svc1000');
    assert.equal(spans[1001]?.name, 'scan.Svc0/M', 'a kept name stays');
  });
});
