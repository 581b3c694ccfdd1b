// Verdicts reached after the forward began (message validation): the span gets the refusal or
// the audit_deny as an event and its verdict attributes; the audit log gets one record with
// the violated constraints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Rejection } from '../core/filter.js';
import type { CallObserver } from '../core/observer.js';
import type { AuditRecord } from './audit-log.js';
import { auditObserver } from './audit-record.js';
import { fakeCall, outcome, runCall, snapshotOf } from './fake-call.js';
import { MethodLabels } from './method-label.js';
import { createSampler, parentBasedRatio } from './sampling.js';
import { traceObserver } from './trace-observer.js';
import { PresetIdGenerator } from './tracing-setup.js';

const snapshot = snapshotOf(`apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: t }
spec:
  grpc:
    - methods: ["shop.v1.Orders/*"]
      allow: [ { principals: ["*"] } ]
`);

const INVALID: Rejection = {
  code: 'INVALID_MESSAGE',
  reason: 'invalid_message',
  rule: 't:grpc[0]',
  detail: 'shop.v1.Order: order_id string.min_len',
  constraints: ['string.min_len'],
};

function observers(): { list: CallObserver[]; exporter: InMemorySpanExporter; records: AuditRecord[] } {
  const exporter = new InMemorySpanExporter();
  const ids = new PresetIdGenerator();
  const provider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), idGenerator: ids, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const records: AuditRecord[] = [];
  const trace = traceObserver({ tracer: provider.getTracer('t'), sampler: createSampler(parentBasedRatio(1)), ids, propagation: 'w3c', labels: new MethodLabels({ current: snapshot }) });
  const audit = auditObserver({ write: (r) => records.push(r) }, { current: snapshot } as never);
  return { list: [trace, audit], exporter, records };
}

test('a message refused after the forward began: span event and attributes, one deny record with constraints', () => {
  const { list, exporter, records } = observers();
  const ctx = fakeCall('/shop.v1.Orders/Place');
  runCall(list, ctx, snapshot, () => {
    ctx.lateRejection = ctx.rejection = INVALID;
    return outcome(3);
  });
  const [span] = exporter.getFinishedSpans();
  assert.equal(span?.attributes['meshward.decision'], 'deny');
  assert.equal(span?.attributes['meshward.reason'], 'invalid_message');
  const event = span?.events.find((e) => e.name === 'meshward.refused');
  assert.deepEqual(event?.attributes, {
    'meshward.reason': 'invalid_message',
    'meshward.code': 'INVALID_MESSAGE',
    'meshward.rule': 't:grpc[0]',
    'meshward.detail': 'shop.v1.Order: order_id string.min_len',
    'meshward.constraints': ['string.min_len'],
  });
  assert.equal(records.length, 1);
  assert.equal(records[0]?.decision, 'deny');
  assert.equal(records[0]?.status, 3);
  assert.deepEqual(records[0]?.constraints, ['string.min_len']);
});

test('a message an audit rule would refuse: audit_deny event and record, the call went on', () => {
  const { list, exporter, records } = observers();
  const ctx = fakeCall('/shop.v1.Orders/Place');
  runCall(list, ctx, snapshot, () => {
    ctx.auditedMessage = INVALID;
    return outcome(0);
  });
  const [span] = exporter.getFinishedSpans();
  assert.equal(span?.attributes['meshward.decision'], 'audit_deny');
  assert.ok(span?.events.some((e) => e.name === 'meshward.audit_deny' && e.attributes?.['meshward.reason'] === 'invalid_message'));
  assert.equal(records.length, 1);
  assert.equal(records[0]?.decision, 'audit_deny');
  assert.equal(records[0]?.status, 0);
  assert.deepEqual(records[0]?.constraints, ['string.min_len']);
});
