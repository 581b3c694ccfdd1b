import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TapEvent } from './tap-event.js';
import { describeTapFilter, parseTapFilter, tapMatches } from './tap-filter.js';

const FRONTEND = 'spiffe://cluster.local/ns/web/sa/frontend';
const event = (over: Partial<TapEvent> = {}): TapEvent => ({
  time: '2026-12-05T10:00:00.000Z', protocol: 'grpc', method: 'shop.v1.Orders/GetOrder', operation: null, principal: FRONTEND,
  decision: 'allow', reason: 'allowed', rule: null, limited: false, status: 0, durationMs: 1.5, traceId: null, ...over,
});
const matches = (query: string, e: TapEvent): boolean => {
  const p = parseTapFilter(new URLSearchParams(query));
  assert.ok(p.ok, p.ok ? '' : p.error);
  return tapMatches(p.filter, e);
};
const error = (query: string): string => {
  const p = parseTapFilter(new URLSearchParams(query));
  assert.ok(!p.ok);
  return p.error;
};

test('no filter matches everything; empty values are no filter', () => {
  assert.ok(matches('', event()));
  assert.ok(matches('method=&principal=&decision=', event({ principal: null, decision: 'deny' })));
});

test('method: the policy pattern forms, and GraphQL endpoint paths', () => {
  assert.ok(matches('method=shop.v1.Orders/GetOrder', event()));
  assert.ok(!matches('method=shop.v1.Orders/Get', event()));
  assert.ok(matches('method=shop.v1.Orders/Get*', event()));
  assert.ok(matches('method=shop.v1.Orders/*', event()));
  assert.ok(!matches('method=shop.v1.Users/*', event()));
  assert.ok(matches('method=*', event()));
  assert.ok(matches('method=/graphql', event({ protocol: 'graphql', method: '/graphql' })));
  assert.ok(!matches('method=/graphql', event()));
  assert.ok(!matches('method=*', event({ protocol: 'graphql', method: '/graphql' })), 'gRPC patterns match gRPC calls');
});

test('principal: exact, prefix, * (any authenticated caller)', () => {
  assert.ok(matches(`principal=${FRONTEND}`, event()));
  assert.ok(matches('principal=spiffe://cluster.local/ns/web/*', event()));
  assert.ok(!matches('principal=spiffe://cluster.local/ns/ops/*', event()));
  assert.ok(matches('principal=*', event()));
  assert.ok(!matches('principal=*', event({ principal: null })));
});

test('decision', () => {
  assert.ok(matches('decision=deny', event({ decision: 'deny' })));
  assert.ok(!matches('decision=deny', event()));
  assert.ok(matches('decision=audit_deny', event({ decision: 'audit_deny' })));
});

test('errors name the parameter and what is accepted', () => {
  assert.match(error('decision=no'), /^decision: expected one of allow, deny, audit_deny, got "no"$/);
  assert.match(error('principal=frontend'), /^principal: /);
  assert.match(error('method=Orders'), /^method: missing "\/".*GraphQL endpoint path/);
  assert.match(error('verb=GET'), /unknown parameter "verb"/);
  assert.match(error('decision=allow&decision=deny'), /more than once/);
});

test('describeTapFilter gives the query back', () => {
  const p = parseTapFilter(new URLSearchParams('method=a.B/*&principal=spiffe://td/ns/x/*&decision=deny'));
  assert.ok(p.ok);
  assert.deepEqual(describeTapFilter(p.filter), { method: 'a.B/*', principal: 'spiffe://td/ns/x/*', decision: 'deny' });
});
