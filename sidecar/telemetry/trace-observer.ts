// One SERVER span per inbound call and one CLIENT span per outbound call (DESIGN §6;
// OpenTelemetry RPC conventions as of semconv v1.37, the DESIGN's names), continuing the
// caller's W3C trace context and handing the upstream (the app, or the remote sidecar) a new
// `traceparent` with meshward's span as the parent. Data path. Sampling is decided before
// any SDK object exists: an unsampled call costs a header parse and two random ids.

import {
  createTraceState,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http2';
import type { CallInfo, CallTrace, Rejection } from '../core/filter.js';
import type { CallObserver, CallOutcome } from '../core/observer.js';
import { verdictOf } from './call-verdict.js';
import { OTHER_METHOD, type MethodLabels } from './method-label.js';
import type { Sampler } from './sampling.js';
import type { PropagationMode } from './telemetry-settings.js';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, type RemoteParent } from './trace-context.js';
import type { PresetIdGenerator } from './tracing-setup.js';

export interface TraceObserverOptions {
  readonly tracer: Tracer;
  readonly sampler: Sampler;
  readonly ids: PresetIdGenerator;
  readonly propagation: PropagationMode;
  readonly labels: MethodLabels;
  /** SERVER for the inbound listener (default), CLIENT for the outbound one. */
  readonly kind?: 'server' | 'client';
}

/** gRPC status codes a server span reports as ERROR (OpenTelemetry gRPC conventions); a client span: every code but OK. */
const SERVER_ERROR_CODES: ReadonlySet<number> = new Set([2, 4, 12, 13, 14, 15]);
const CLIENT_ERROR_CODES: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
const GRPC_CODE_NAMES: readonly string[] = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];
const NGHTTP2_CANCEL = 8;
const GRPC_CANCELLED = 1;
const MAX_PATH_ATTRIBUTE = 256;
const START_ATTRIBUTES: Attributes = Object.freeze({ 'rpc.system': 'grpc' });
/** HTTP semantic conventions: known methods as sent, any other as _OTHER (bounded). */
const HTTP_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
/** Distinct outbound (CLIENT) span names kept before the rest are named _OTHER. */
const MAX_CLIENT_SPAN_NAMES = 1000;

/** GraphQL calls are HTTP requests: HTTP server conventions, no rpc.* attributes. */
function startAttributes(ctx: CallInfo): Attributes {
  if (ctx.protocol !== 'graphql') return START_ATTRIBUTES;
  const method = ctx.httpMethod ?? 'POST';
  return { 'http.request.method': HTTP_METHODS.has(method) ? method : '_OTHER', 'url.path': ctx.path.slice(0, MAX_PATH_ATTRIBUTE) };
}
const NO_HEADERS: Readonly<Record<string, string | undefined>> = Object.freeze({});

/** ctx.trace as this observer makes it: the CallTrace plus the span when recording. */
class SpanTrace implements CallTrace {
  constructor(
    readonly traceId: string,
    readonly spanId: string,
    readonly sampled: boolean,
    readonly appHeaders: Readonly<Record<string, string | undefined>>,
    readonly span: Span | undefined,
  ) {}
}

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (h) => Object.keys(h),
  get: (h, key) => h[key],
};

function spanOf(ctx: CallInfo): Span | undefined {
  const t = ctx.trace;
  return t instanceof SpanTrace ? t.span : undefined;
}

export function traceObserver(opts: TraceObserverOptions): CallObserver {
  const { tracer, sampler, ids, labels } = opts;
  const mode = opts.propagation;
  const client = opts.kind === 'client';
  const spanKind = client ? SpanKind.CLIENT : SpanKind.SERVER;
  const errorCodes = client ? CLIENT_ERROR_CODES : SERVER_ERROR_CODES;
  // Outbound calls come from our own app, whose methods are as many as its code names: the
  // first MAX_CLIENT_SPAN_NAMES distinct names are kept, later ones are _OTHER (span names
  // are grouped on by backends; rpc.service / rpc.method still carry the real name).
  // Inbound names go through the policy-bounded labels.
  const clientNames = new Set<string>();
  const clientSpanName = (ctx: CallInfo): string => {
    const name = ctx.method?.fullName;
    if (name === undefined) return OTHER_METHOD;
    if (clientNames.has(name)) return name;
    if (clientNames.size >= MAX_CLIENT_SPAN_NAMES) return OTHER_METHOD;
    clientNames.add(name);
    return name;
  };
  const spanName = (ctx: CallInfo, status: number | undefined): string =>
    ctx.protocol === 'graphql' ? graphqlSpanName(ctx) : client ? clientSpanName(ctx) : labels.label(ctx, status);

  /** The trace headers for the app (W3C fast path, or the configured SDK propagators). */
  function appHeaders(h: IncomingHttpHeaders, parentValid: boolean, traceId: string, spanId: string, sampled: boolean): Readonly<Record<string, string | undefined>> {
    if (mode === 'w3c') {
      const traceparent = formatTraceparent(traceId, spanId, sampled);
      // A tracestate without a valid traceparent belongs to no trace we continue (W3C §3.3).
      return parentValid || h.tracestate === undefined ? { traceparent } : { traceparent, tracestate: undefined };
    }
    if (mode === 'none') return NO_HEADERS;
    const carrier: Record<string, string | undefined> = {};
    const context = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: sampled ? 1 : 0, isRemote: false });
    propagation.inject(context, carrier);
    for (const field of propagation.fields()) if (!(field in carrier)) carrier[field] = undefined;
    return carrier;
  }

  return {
    started(ctx) {
      const h = ctx.headers;
      let parent: RemoteParent | undefined;
      let parentContext: Context = ROOT_CONTEXT;
      if (mode === 'w3c') {
        parent = parseTraceparent(h.traceparent);
      } else if (mode === 'sdk') {
        parentContext = propagation.extract(ROOT_CONTEXT, h, headerGetter);
        const sc = trace.getSpanContext(parentContext);
        if (sc !== undefined && trace.isSpanContextValid(sc)) parent = { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & 1) === 1 };
        else parentContext = ROOT_CONTEXT;
      }
      const traceId = parent?.traceId ?? newTraceId();

      if (!sampler.sample(parent, traceId)) {
        // The fast path: no span object; the app still learns the trace and that it is not sampled.
        const spanId = newSpanId();
        ctx.trace = new SpanTrace(traceId, spanId, false, appHeaders(h, parent !== undefined, traceId, spanId, false), undefined);
        return;
      }

      if (parent !== undefined && mode === 'w3c') {
        const state = typeof h.tracestate === 'string' ? createTraceState(h.tracestate) : undefined;
        parentContext = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: parent.spanId, traceFlags: parent.sampled ? 1 : 0, isRemote: true, traceState: state });
      }
      if (parent === undefined) ids.preset(traceId);
      const span = tracer.startSpan(OTHER_METHOD, { kind: spanKind, startTime: ctx.startedAt, attributes: startAttributes(ctx) }, parentContext);
      ids.preset(undefined);
      const sc = span.spanContext();
      const recording = span.isRecording();
      ctx.trace = new SpanTrace(sc.traceId, sc.spanId, recording, appHeaders(h, parent !== undefined, sc.traceId, sc.spanId, recording), recording ? span : undefined);
    },

    decided(ctx, rejection) {
      const span = spanOf(ctx);
      if (span === undefined) return;
      const v = verdictOf(ctx, rejection);
      const attrs: Attributes = { 'meshward.decision': v.decision, 'meshward.reason': v.reason };
      const m = ctx.method;
      if (m !== undefined) {
        attrs['rpc.service'] = m.service;
        attrs['rpc.method'] = m.method;
      } else if (ctx.protocol === 'graphql') {
        // The endpoint's path is the route (NOT_FOUND: the path served no endpoint).
        if (rejection?.code !== 'NOT_FOUND') attrs['http.route'] = ctx.path.slice(0, MAX_PATH_ATTRIBUTE);
        const g = ctx.graphql;
        if (g?.operationType !== undefined) attrs['graphql.operation.type'] = g.operationType;
        if (g?.operationName !== undefined) attrs['graphql.operation.name'] = g.operationName.slice(0, MAX_OPERATION_NAME);
        if (g?.cost !== undefined) attrs['meshward.graphql.cost'] = g.cost;
        if (g !== undefined && g.operations > 1) attrs['meshward.graphql.operations'] = g.operations;
      } else {
        attrs['meshward.path'] = ctx.path.slice(0, MAX_PATH_ATTRIBUTE);
      }
      if (v.rule !== undefined) attrs['meshward.rule'] = v.rule;
      if (ctx.peer.spiffeId !== undefined) attrs['meshward.principal'] = ctx.peer.spiffeId;
      if (ctx.jwt !== undefined) attrs['meshward.jwt.provider'] = ctx.jwt.provider;
      if (ctx.policyVersion !== undefined) attrs['meshward.policy_version'] = ctx.policyVersion;
      span.setAttributes(attrs);
      if (rejection !== undefined) {
        span.addEvent('meshward.refused', refusalEvent(rejection));
      } else if (v.decision === 'audit_deny') {
        span.addEvent('meshward.audit_deny', v.rule === undefined ? { 'meshward.reason': v.reason } : { 'meshward.reason': v.reason, 'meshward.rule': v.rule });
      }
    },

    ended(ctx, outcome) {
      const span = spanOf(ctx);
      if (span === undefined) return;
      // Decided after the forward began: a request message refused (size, message validation),
      // or one an audit-mode validation rule would have refused.
      const late = ctx.lateRejection;
      if (late !== undefined) {
        span.setAttributes(verdictAttributes('deny', late));
        span.addEvent('meshward.refused', refusalEvent(late));
      } else if (ctx.auditedMessage !== undefined) {
        span.setAttributes(verdictAttributes('audit_deny', ctx.auditedMessage));
        span.addEvent('meshward.audit_deny', refusalEvent(ctx.auditedMessage));
      }
      const name = spanName(ctx, outcome.grpcStatus);
      if (name !== OTHER_METHOD) span.updateName(name);
      if (ctx.protocol === 'graphql') return endHttpSpan(span, ctx, outcome);
      const status = outcome.grpcStatus;
      if (status !== undefined) {
        span.setAttribute('rpc.grpc.status_code', status);
        if (errorCodes.has(status)) span.setStatus({ code: SpanStatusCode.ERROR, message: GRPC_CODE_NAMES[status] ?? String(status) });
      } else if (outcome.rstCode !== undefined) {
        span.addEvent('meshward.stream_reset', { 'http2.rst_code': outcome.rstCode });
        if (outcome.rstCode === NGHTTP2_CANCEL) span.setAttribute('rpc.grpc.status_code', GRPC_CANCELLED);
        else span.setStatus({ code: SpanStatusCode.ERROR, message: `stream reset (HTTP/2 error ${outcome.rstCode})` });
      } else if (outcome.httpStatus !== undefined) {
        span.setAttribute('http.response.status_code', outcome.httpStatus);
      }
      // The SDK reads a number above performance.now() as epoch ms: never pass one.
      span.end(Math.min(ctx.startedAt + outcome.durationMs, performance.now()));
    },
  };
}

const MAX_OPERATION_NAME = 64;

/** The span event of a refusal (or of what an audit rule would have refused): reason, code, rule, detail, constraints. */
function refusalEvent(r: Rejection): Attributes {
  const event: Attributes = { 'meshward.reason': r.reason, 'meshward.code': r.code };
  if (r.rule !== undefined) event['meshward.rule'] = r.rule;
  if (r.detail !== undefined) event['meshward.detail'] = r.detail;
  if (r.constraints !== undefined) event['meshward.constraints'] = [...r.constraints];
  return event;
}

function verdictAttributes(decision: 'deny' | 'audit_deny', r: Rejection): Attributes {
  const attrs: Attributes = { 'meshward.decision': decision, 'meshward.reason': r.reason };
  if (r.rule !== undefined) attrs['meshward.rule'] = r.rule;
  return attrs;
}

/** HTTP server span end: the response status; ERROR for 5xx only (client errors are the caller's), or a reset. */
function endHttpSpan(span: Span, ctx: CallInfo, outcome: CallOutcome): void {
  const status = outcome.httpStatus;
  if (status !== undefined) {
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: String(status) });
  } else {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'no response (the request was reset)' });
  }
  span.end(Math.min(ctx.startedAt + outcome.durationMs, performance.now()));
}

/** OpenTelemetry GraphQL semantic conventions: "{operation type} {operation name}", or "GraphQL Operation" before analysis. */
function graphqlSpanName(ctx: CallInfo): string {
  const g = ctx.graphql;
  if (g?.operationType === undefined) return 'GraphQL Operation';
  return g.operationName === undefined ? g.operationType : `${g.operationType} ${g.operationName.slice(0, MAX_OPERATION_NAME)}`;
}
