import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RejectCode } from '../core/codes.js';
import { fakeCall, FRONTEND, outcome } from '../telemetry/fake-call.js';
import { tapEventOf } from './tap-event.js';

const NOW = Date.parse('2026-12-05T10:00:00.123Z');

test('a forwarded call: allow, the status the caller got, its trace id', () => {
  const ctx = fakeCall('/shop.v1.Orders/Get');
  ctx.method = { fullName: 'shop.v1.Orders/Get', service: 'shop.v1.Orders', name: 'Get' } as never;
  ctx.trace = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), sampled: true, appHeaders: {} };
  const e = tapEventOf(ctx, outcome(5, { durationMs: 1.23456 }), undefined, NOW);
  assert.deepEqual(e, {
    time: '2026-12-05T10:00:00.123Z', protocol: 'grpc', method: 'shop.v1.Orders/Get', operation: null, principal: FRONTEND,
    decision: 'allow', reason: 'allowed', rule: null, limited: false, status: 5, durationMs: 1.235, traceId: 'a'.repeat(32),
  });
});

test('refusals: a limit is "limited"; a policy denial is not; a malformed path is shown as received', () => {
  const ctx = fakeCall('/not a path');
  const limited = tapEventOf(ctx, outcome(8), { code: RejectCode.RATE_LIMITED, reason: 'rate_limited', rule: 'r:grpc[0]' }, NOW);
  assert.deepEqual([limited.method, limited.decision, limited.reason, limited.rule, limited.limited], ['/not a path', 'deny', 'rate_limited', 'r:grpc[0]', true]);
  const denied = tapEventOf(ctx, outcome(7), { code: RejectCode.PERMISSION_DENIED, reason: 'no_allow_match' }, NOW);
  assert.deepEqual([denied.decision, denied.limited, denied.rule], ['deny', false, null]);
  const anon = tapEventOf({ ...fakeCall('/a.B/C'), peer: { authenticated: false, transport: 'plaintext' } }, outcome(16), { code: RejectCode.UNAUTHENTICATED, reason: 'unauthenticated' }, NOW);
  assert.equal(anon.principal, null);
});

test('a limit in audit mode: the call went on, recorded as audit_deny with the limit reason', () => {
  const ctx = fakeCall('/a.B/C');
  ctx.auditedLimit = { code: RejectCode.RATE_LIMITED, reason: 'rate_limited', rule: 'r:grpc[1]' };
  const e = tapEventOf(ctx, outcome(0), undefined, NOW);
  assert.deepEqual([e.decision, e.reason, e.rule, e.limited, e.status], ['audit_deny', 'rate_limited', 'r:grpc[1]', false, 0]);
});

test('a reset stream has no status; GraphQL shows the endpoint, the operation and the HTTP status', () => {
  assert.equal(tapEventOf(fakeCall('/a.B/C'), outcome(undefined, { rstCode: 8 }), undefined, NOW).status, null);
  const ctx = { ...fakeCall('/graphql'), protocol: 'graphql' as const, graphql: { operationType: 'query', operationName: 'GetOrder', cost: 3, operations: 1 } };
  const e = tapEventOf(ctx, outcome(undefined, { httpStatus: 200 }), undefined, NOW);
  assert.deepEqual([e.protocol, e.method, e.operation, e.status], ['graphql', '/graphql', 'query GetOrder', 200]);
});
