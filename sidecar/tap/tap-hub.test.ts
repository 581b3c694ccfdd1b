import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, FRONTEND, outcome, runCall, snapshotOf } from '../telemetry/fake-call.js';
import type { TapEvent } from './tap-event.js';
import { parseTapFilter } from './tap-filter.js';
import { TapHub } from './tap-hub.js';

const snapshot = snapshotOf(`apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: t }
spec:
  grpc:
    - methods: ["shop.v1.Orders/Get"]
      allow: [ { principals: ["${FRONTEND}"] } ]
`);

const turn = () => new Promise((r) => setImmediate(r));
const filter = (q = '') => {
  const p = parseTapFilter(new URLSearchParams(q));
  assert.ok(p.ok);
  return p.filter;
};
const allowed = (hub: TapHub) => runCall([hub], fakeCall('/shop.v1.Orders/Get'), snapshot, () => outcome(0));
const denied = (hub: TapHub) => runCall([hub], fakeCall('/shop.v1.Orders/Delete'), snapshot, () => outcome(7));

test('no subscriber: allowed calls build nothing; refusals are kept for the dashboard, newest first', () => {
  const hub = new TapHub({ recentRefusals: 3 });
  for (let i = 0; i < 5; i++) allowed(hub);
  assert.deepEqual(hub.recentRefusals(), []);
  assert.deepEqual(hub.stats, { subscribers: 0, delivered: 0, dropped: 0 });
  for (let i = 0; i < 5; i++) denied(hub);
  const kept = hub.recentRefusals();
  assert.equal(kept.length, 3, 'bounded');
  assert.ok(kept.every((e) => e.method === 'shop.v1.Orders/Delete' && e.decision === 'deny' && e.reason === 'default_deny'));
  assert.ok(kept[0]!.time >= kept[2]!.time);
});

test('one event per call, to every subscriber whose filter matches, woken once per turn', async () => {
  const hub = new TapHub();
  let wakes = 0;
  const all = hub.subscribe(filter(), () => wakes++)!;
  const deniesOnly = hub.subscribe(filter('decision=deny'), () => undefined)!;
  allowed(hub);
  allowed(hub);
  denied(hub);
  await turn();
  assert.equal(wakes, 1);
  const events = all.take();
  assert.deepEqual(
    events.map((e) => [e.method, e.decision, e.reason, e.status, e.principal]),
    [
      ['shop.v1.Orders/Get', 'allow', 'allowed', 0, FRONTEND],
      ['shop.v1.Orders/Get', 'allow', 'allowed', 0, FRONTEND],
      ['shop.v1.Orders/Delete', 'deny', 'default_deny', 7, FRONTEND],
    ],
  );
  assert.deepEqual(all.take(), [], 'taken once');
  assert.deepEqual(deniesOnly.take().map((e) => e.method), ['shop.v1.Orders/Delete']);
  assert.equal(hub.stats.delivered, 3);
});

test('a subscriber that does not take loses events beyond its buffer, counted; others are unaffected', async () => {
  const hub = new TapHub({ maxBuffered: 4 });
  const slow = hub.subscribe(filter(), () => undefined)!;
  const fast = hub.subscribe(filter(), () => undefined)!;
  for (let i = 0; i < 10; i++) {
    allowed(hub);
    assert.equal(fast.take().length, 1);
  }
  assert.equal(slow.buffered, 4);
  assert.equal(slow.dropped, 6);
  assert.equal(fast.dropped, 0);
  assert.equal(hub.stats.dropped, 6);
  slow.close();
  assert.equal(hub.stats.subscribers, 1);
  assert.equal(hub.stats.dropped, 6, 'drops of a gone subscriber still count');
  await turn();
});

test('at most maxSubscribers; closing frees a place and tells listeners', () => {
  const hub = new TapHub({ maxSubscribers: 2 });
  const counts: number[] = [];
  hub.onSubscribers((n) => counts.push(n));
  const a = hub.subscribe(filter(), () => undefined)!;
  const b = hub.subscribe(filter(), () => undefined)!;
  assert.equal(hub.subscribe(filter(), () => undefined), undefined);
  a.close();
  a.close();
  assert.ok(hub.subscribe(filter(), () => undefined));
  b.close();
  assert.deepEqual(counts, [1, 2, 1, 2, 1]);
});

test('a closed subscriber is never woken and keeps nothing', async () => {
  const hub = new TapHub();
  let wakes = 0;
  const s = hub.subscribe(filter(), () => wakes++)!;
  allowed(hub);
  s.close();
  await turn();
  assert.equal(wakes, 0);
  assert.deepEqual(s.take(), []);
});

test('deliver() (a worker event relayed by the primary) reaches subscribers but not the refusal ring', () => {
  const hub = new TapHub();
  const s = hub.subscribe(filter(), () => undefined)!;
  const event: TapEvent = {
    time: new Date().toISOString(), protocol: 'grpc', method: 'a.B/C', operation: null, principal: null,
    decision: 'deny', reason: 'default_deny', rule: null, limited: false, status: 7, durationMs: 1, traceId: null,
  };
  hub.deliver(event);
  hub.noteDropped(3);
  assert.deepEqual(s.take(), [event]);
  assert.equal(s.dropped, 3);
  assert.deepEqual(hub.recentRefusals(), []);
  s.close();
});
