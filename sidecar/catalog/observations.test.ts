// Observations: counts, first/last seen, peaks per second, the bounds (_OTHER), restore;
// the observer counts only authenticated calls; the undeclared filter's three modes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RejectCode } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';
import { fakeCall } from '../telemetry/call-fixtures.test-helper.js';
import { parseGrpcPath } from '../grpc/path.js';
import { catalogObserver } from './catalog-observer.js';
import { EMPTY_DECLARATIONS, type Declarations } from './declarations-model.js';
import { catalogSecond, MAX_CALLERS_PER_NAME, MAX_UNDECLARED_NAMES, msOfSecond, Observations, ObservationTable, OTHER, Outcome } from './observations.js';
import { undeclaredFilter } from '../filters/undeclared-filter.js';

const A = 'spiffe://cluster.local/ns/web/sa/frontend';
const B = 'spiffe://cluster.local/ns/ops/sa/cron';
const NONE = new Map<string, unknown>();
const T0 = catalogSecond(Date.parse('2026-12-01T00:00:00Z'));

function declaring(...methods: string[]): Declarations {
  return {
    ...EMPTY_DECLARATIONS,
    grpcDeclared: true,
    methods: new Map(methods.map((name) => [name, { name, deprecated: false } as never])),
  };
}

test('counts, first and last seen, refusals, and the peak of forwarded calls per second', () => {
  const t = new ObservationTable();
  t.record('s.S/M', A, Outcome.FORWARDED, T0, NONE);
  t.record('s.S/M', A, Outcome.FORWARDED, T0, NONE);
  t.record('s.S/M', A, Outcome.FORWARDED, T0, NONE);
  t.record('s.S/M', A, Outcome.FORWARDED, T0 + 1, NONE);
  t.record('s.S/M', A, Outcome.REFUSED, T0 + 1, NONE);
  t.record('s.S/M', B, Outcome.REFUSED_UNDECLARED, T0 + 5, NONE);
  const s = t.names.get('s.S/M')!;
  assert.deepEqual([s.calls, s.refused, s.refusedUndeclared, s.firstSeen, s.lastSeen], [6, 2, 1, T0, T0 + 5]);
  const a = s.callers.get(A)!;
  assert.deepEqual([a.calls, a.refused, a.firstSeen, a.lastSeen, a.peakPerSecond], [5, 1, T0, T0 + 1, 3]);
  assert.equal(s.callers.get(B)!.peakPerSecond, 0, 'refused calls set no peak');
});

test('bounds: undeclared names and callers per name beyond the limit are _OTHER', () => {
  const t = new ObservationTable();
  const declared = new Map([['d.D/Declared', {}]]);
  for (let i = 0; i < MAX_UNDECLARED_NAMES + 50; i++) t.record(`x.X/M${i}`, A, Outcome.FORWARDED, T0, declared);
  t.record('d.D/Declared', A, Outcome.FORWARDED, T0, declared);
  assert.equal(t.names.size, MAX_UNDECLARED_NAMES + 2, 'the bound, _OTHER, and the declared name');
  assert.equal(t.names.get(OTHER)!.calls, 50);
  for (let i = 0; i < MAX_CALLERS_PER_NAME + 7; i++) t.record('d.D/Declared', `spiffe://cluster.local/ns/n/sa/s${i}`, Outcome.FORWARDED, T0, declared);
  const callers = t.names.get('d.D/Declared')!.callers;
  assert.equal(callers.size, MAX_CALLERS_PER_NAME + 1);
  assert.equal(callers.get(OTHER)!.calls, 8, 'the 8 callers past the bound (A was first)');
});

test('a snapshot restores into a fresh table (a restart with stateFile)', () => {
  const t = new ObservationTable();
  t.record('s.S/M', A, Outcome.FORWARDED, T0, NONE);
  t.record('s.S/M', A, Outcome.FORWARDED, T0 + 10, NONE);
  const copy = new ObservationTable();
  copy.restore(JSON.parse(JSON.stringify(t.toJSON())), NONE);
  copy.record('s.S/M', B, Outcome.FORWARDED, T0 + 20, NONE);
  assert.deepEqual(copy.toJSON()['s.S/M']?.calls, 3);
  assert.deepEqual(copy.toJSON()['s.S/M']?.callers[A], { calls: 2, refused: 0, firstSeen: msOfSecond(T0), lastSeen: msOfSecond(T0 + 10), peakPerSecond: 1 });
  assert.equal(copy.names.get('s.S/M')!.callers.get(A)!.lastSeen, T0 + 10, 'ms in JSON, seconds inside');
  copy.restore({ bad: 'x', 'n.N/M': { calls: -5, callers: [] } } as never, NONE);
  assert.equal(copy.names.get('n.N/M')!.calls, 0, 'nonsense in a state file counts nothing');
});

test('the observer counts authenticated callers only, gRPC methods and GraphQL fields', () => {
  const obs = new Observations();
  const observer = catalogObserver(obs, { current: declaring('s.S/M') }, { second: T0 });
  const call = (path: string, principal: string | undefined, rejection?: Rejection) => {
    const ctx = fakeCall(path, {}, principal);
    if (principal === undefined) (ctx as { peer: unknown }).peer = { authenticated: false, transport: 'plaintext' };
    ctx.method = parseGrpcPath(path);
    observer.decided!(ctx, rejection);
  };
  call('/s.S/M', A);
  call('/s.S/M', undefined); // plaintext (permissive mode): not counted
  call('/s.S/M', B, { code: RejectCode.UNAUTHENTICATED, reason: 'jwt_expired' }); // failed authentication
  call('/s.S/M', B, { code: RejectCode.PERMISSION_DENIED, reason: 'no_allow_match' });
  call('/x.X/Y', B, { code: RejectCode.UNIMPLEMENTED, reason: 'undeclared_method' });
  const m = obs.grpc.names.get('s.S/M')!;
  assert.deepEqual([m.calls, m.refused, [...m.callers.keys()]], [2, 1, [A, B]]);
  assert.equal(obs.grpc.names.get('x.X/Y')!.refusedUndeclared, 1);

  const gql = fakeCall('/graphql', {}, A) as ReturnType<typeof fakeCall>;
  (gql as { protocol: string }).protocol = 'graphql';
  gql.graphql = { operationType: 'query', operationName: undefined, cost: 3, operations: 1, fieldSets: [new Map([['Query.orders', 'orders'], ['Order.id', 'orders.id'], ['Order.__typename', 'orders.__typename'], ['Query.__schema', '__schema'], ['__Schema.types', '__schema.types']])] };
  observer.decided!(gql, undefined);
  assert.deepEqual([...obs.graphql.names.keys()], ['Query.orders', 'Order.id'], 'introspection and __typename are not the app\'s API');
});

test('undeclared filter: deny refuses with UNIMPLEMENTED, audit marks, allow is no filter; nothing without protos', () => {
  const source = { current: declaring('s.S/Known') };
  const ctx = (path: string) => {
    const c = fakeCall(path);
    c.method = parseGrpcPath(path);
    return c;
  };
  const deny = undeclaredFilter(source, 'deny')!;
  assert.equal(deny.apply(ctx('/s.S/Known')), undefined);
  const refused = deny.apply(ctx('/s.S/Other')) as Rejection;
  assert.deepEqual([refused.code, refused.reason], [RejectCode.UNIMPLEMENTED, 'undeclared_method']);

  const audit = undeclaredFilter(source, 'audit')!;
  const c = ctx('/s.S/Other');
  assert.equal(audit.apply(c), undefined);
  assert.equal(c.auditedLimit?.reason, 'undeclared_method');

  assert.equal(undeclaredFilter(source, 'allow'), undefined);
  assert.equal(undeclaredFilter({ current: EMPTY_DECLARATIONS }, 'deny')!.apply(ctx('/s.S/Other')), undefined);
});
