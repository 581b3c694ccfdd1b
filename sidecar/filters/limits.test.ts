// The four limit filters in their chain order (rate → concurrency → bandwidth → message size),
// over limit tables built when the snapshot is published, with a manual clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChain } from '../core/chain.js';
import { RejectCode } from '../core/codes.js';
import type { FilterResult } from '../core/filter.js';
import { compilePolicies } from '../policy/compile.js';
import { parsePolicySources } from '../policy/load.js';
import type { PolicySnapshot } from '../policy/model.js';
import type { Call } from '../pipeline/call.js';
import { dataSnapshotOf, endCall, testCall } from '../pipeline/call.test-helper.js';
import { ByteBucket as BandwidthShaper } from '../ratelimit/byte-bucket.js';
import { DEFAULT_MAX_MESSAGE_BYTES, FrameSizeGuard } from '../ratelimit/frame-size-guard.js';
import { LimiterRegistry } from '../ratelimit/limiter-registry.js';
import { ManualClock } from '../ratelimit/manual-clock.test-helper.js';
import { bandwidthFilter } from './bandwidth-filter.js';
import { concurrencyFilter } from './concurrency-filter.js';
import { messageSizeFilter } from './message-size-filter.js';
import { rateLimitFilter } from './rate-limit-filter.js';

const A = 'spiffe://cluster.local/ns/web/sa/a';
const B = 'spiffe://cluster.local/ns/web/sa/b';

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: t }
spec:
  grpc:
    - methods: ["t.v1.S/Rate"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 5, per: 1m, burst: 2, by: principal }
    - methods: ["t.v1.S/Global"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 3, per: 1s, by: global }
    - methods: ["t.v1.S/Sub"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 2, per: 1m, by: "jwt:sub" }
    - methods: ["t.v1.S/Shadow"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 1, per: 1m, by: principal, mode: audit }
    - methods: ["t.v1.S/Slow"]
      allow: [ { principals: ["*"] } ]
      concurrency: { max: 1, queue: 1, queueTimeout: 100ms }
      maxMessageBytes: 1Ki
    - methods: ["t.v1.S/Wide"]
      allow: [ { principals: ["*"] } ]
      bandwidth: { bytesPerSecond: 1Mi, by: principal }
    - methods: ["t.v1.S/WideShadow"]
      allow: [ { principals: ["*"] } ]
      bandwidth: { bytesPerSecond: 1Mi, by: principal, mode: audit }
      concurrency: { max: 1, queue: 0, mode: audit }
    - methods: ["t.v1.S/Open"]
      allow: [ { principals: ["*"] } ]
`;

function compile(text = POLICY): PolicySnapshot {
  const loaded = parsePolicySources([{ file: 't.yaml', text }]);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return compilePolicies(loaded);
}

function setup() {
  const clock = new ManualClock();
  const registry = new LimiterRegistry({ store: undefined, maxKeysPerRule: 100, maxRedisKeysPerRule: 10, now: clock.now, timers: clock });
  const rejected: string[] = [];
  const count = (rule: string) => void rejected.push(rule);
  const limits = [rateLimitFilter(count), concurrencyFilter(count), bandwidthFilter(), messageSizeFilter()];
  const filter = { apply: (c: Call) => runChain(limits, c) };
  /** What the pipeline does when the call's exchange ends. */
  const observer = { ended: (c: Call, _outcome: unknown) => endCall(c) };
  const call = (snapshot: PolicySnapshot, method: string, principal: string | undefined, claims?: Record<string, unknown>): Call => {
    const jwt = claims === undefined ? undefined : { provider: 'corp', payload: claims, subject: undefined, expiresAt: Date.now() + 60_000 };
    const c = testCall({ target: `/${method}`, principal, snapshot: dataSnapshotOf(snapshot, registry), timeoutMs: 5_000 });
    c.jwt = jwt;
    c.decision = snapshot.decide({ method, principal, jwt });
    c.policyVersion = snapshot.version;
    return c;
  };
  return { clock, registry, filter, observer, call, rejected };
}

const outcome = { grpcStatus: 0, httpStatus: 200, rstCode: undefined, durationMs: 1 };
const flush = () => new Promise((r) => setImmediate(r));

function count(results: FilterResult[]): { allowed: number; refused: number } {
  return { allowed: results.filter((r) => r === undefined).length, refused: results.filter((r) => r !== undefined).length };
}

test('rate limit: exactly requests + burst at once per principal, then RESOURCE_EXHAUSTED with details; refill adds one', () => {
  const snap = compile();
  const { filter, clock, call } = setup();
  const results = Array.from({ length: 10 }, () => filter.apply(call(snap, 't.v1.S/Rate', A)) as FilterResult);
  assert.deepEqual(count(results), { allowed: 7, refused: 3 });
  const r = results[9]!;
  assert.equal(r.code, RejectCode.RATE_LIMITED);
  assert.equal(r.reason, 'rate_limited');
  assert.equal(r.rule, 't:grpc[0]');
  assert.match(r.detail!, /5 requests per 1m \(burst 2\) by principal/);
  assert.ok(typeof r.replyHeaders?.['grpc-status-details-bin'] === 'string');
  clock.advance(11_999);
  assert.notEqual(filter.apply(call(snap, 't.v1.S/Rate', A)), undefined);
  clock.advance(1);
  assert.equal(filter.apply(call(snap, 't.v1.S/Rate', A)), undefined, 'one token per 12 s');
  assert.notEqual(filter.apply(call(snap, 't.v1.S/Rate', A)), undefined);
});

test("per principal: one caller's flood does not limit another; plaintext callers share one bucket", () => {
  const snap = compile();
  const { filter, call } = setup();
  for (let i = 0; i < 20; i++) filter.apply(call(snap, 't.v1.S/Rate', A));
  assert.equal(filter.apply(call(snap, 't.v1.S/Rate', B)), undefined);
  const anon = Array.from({ length: 9 }, () => filter.apply(call(snap, 't.v1.S/Rate', undefined)) as FilterResult);
  assert.deepEqual(count(anon), { allowed: 7, refused: 2 });
});

test('by: global is one bucket for everyone; by: jwt:sub one per subject (no token = one shared bucket)', () => {
  const snap = compile();
  const { filter, call } = setup();
  const g = [A, B, A, B].map((p) => filter.apply(call(snap, 't.v1.S/Global', p)) as FilterResult);
  assert.deepEqual(count(g), { allowed: 3, refused: 1 });
  const alice = [A, B, A].map((p) => filter.apply(call(snap, 't.v1.S/Sub', p, { sub: 'alice' })) as FilterResult);
  assert.deepEqual(count(alice), { allowed: 2, refused: 1 }, 'the subject counts, not the workload');
  assert.equal(filter.apply(call(snap, 't.v1.S/Sub', A, { sub: 'bob' })), undefined);
  const none = [A, B, A].map((p) => filter.apply(call(snap, 't.v1.S/Sub', p)) as FilterResult);
  assert.deepEqual(count(none), { allowed: 2, refused: 1 });
});

test('mode: audit counts and records what it would refuse, and never refuses', () => {
  const snap = compile();
  const { filter, call } = setup();
  const first = call(snap, 't.v1.S/Shadow', A);
  assert.equal(filter.apply(first), undefined);
  assert.equal(first.auditedLimit, undefined);
  const second = call(snap, 't.v1.S/Shadow', A);
  assert.equal(filter.apply(second), undefined);
  assert.equal(second.auditedLimit?.reason, 'rate_limited');
});

test('concurrency: one in flight, one queued, the next refused; the slot passes on when a call ends', async () => {
  const snap = compile();
  const { filter, observer, clock, call } = setup();
  const first = call(snap, 't.v1.S/Slow', A);
  assert.equal(filter.apply(first), undefined, 'a free slot: synchronous');
  const second = call(snap, 't.v1.S/Slow', B);
  const waiting = filter.apply(second);
  assert.ok(waiting instanceof Promise, 'queued');
  const third = filter.apply(call(snap, 't.v1.S/Slow', B)) as FilterResult;
  assert.equal(third?.reason, 'concurrency_queue_full');
  assert.equal(third?.code, RejectCode.RATE_LIMITED);
  clock.advance(50);
  observer.ended(first, outcome);
  assert.equal(await waiting, undefined, 'the queued call got the slot');
  // The slot is held by `second` now: a new call waits, and times out after 100 ms.
  const fourth = filter.apply(call(snap, 't.v1.S/Slow', A));
  assert.ok(fourth instanceof Promise);
  clock.advance(100);
  assert.equal((await fourth)?.reason, 'concurrency_queue_timeout');
  observer.ended(second, outcome);
  assert.equal(filter.apply(call(snap, 't.v1.S/Slow', A)), undefined, 'released');
});

test('concurrency: a caller that leaves while queued takes no slot', async () => {
  const snap = compile();
  const { filter, observer, call } = setup();
  const first = call(snap, 't.v1.S/Slow', A);
  filter.apply(first);
  const leaving = call(snap, 't.v1.S/Slow', B);
  const waiting = filter.apply(leaving);
  observer.ended(leaving, outcome);
  assert.equal(await waiting, undefined);
  observer.ended(first, outcome);
  await flush();
  assert.equal(filter.apply(call(snap, 't.v1.S/Slow', A)), undefined, 'the slot is free again');
});

test('bandwidth: shapers for both directions; audit-mode bandwidth is not applied', () => {
  const snap = compile();
  const { filter, call } = setup();
  const c = call(snap, 't.v1.S/Wide', A);
  assert.equal(filter.apply(c), undefined);
  assert.equal(c.requestPacers?.length, 1);
  assert.ok(c.requestPacers?.[0] instanceof BandwidthShaper);
  assert.ok(c.responsePacers?.[0] instanceof BandwidthShaper);
  const shadow = call(snap, 't.v1.S/WideShadow', A);
  assert.equal(filter.apply(shadow), undefined);
  assert.equal(shadow.requestPacers, undefined);
  // Its audit-mode concurrency limit: over max and no queue → recorded, not refused.
  assert.equal(filter.apply(call(snap, 't.v1.S/WideShadow', A)), undefined);
  const over = call(snap, 't.v1.S/WideShadow', A);
  assert.equal(filter.apply(over), undefined);
  assert.equal(over.auditedLimit?.reason, 'concurrency_queue_full');
});

test('every call gets the message-size guard: the rule’s maxMessageBytes, else 4 MiB', () => {
  const snap = compile();
  const { filter, call } = setup();
  const slow = call(snap, 't.v1.S/Slow', A);
  filter.apply(slow);
  assert.ok(slow.requestGuard instanceof FrameSizeGuard);
  assert.equal((slow.requestGuard as FrameSizeGuard).max, 1024);
  const open = call(snap, 't.v1.S/Open', A);
  assert.equal(filter.apply(open), undefined);
  assert.equal((open.requestGuard as FrameSizeGuard).max, DEFAULT_MAX_MESSAGE_BYTES);
  const header = Buffer.from([0, 0, 0, 4, 1]);
  assert.equal(slow.requestGuard!.check(header)?.code, RejectCode.MESSAGE_TOO_LARGE);
});

test('a policy reload with the same limit keeps its state; a changed limit starts afresh', () => {
  const { filter, call } = setup();
  const before = compile();
  for (let i = 0; i < 7; i++) filter.apply(call(before, 't.v1.S/Rate', A));
  assert.notEqual(filter.apply(call(before, 't.v1.S/Rate', A)), undefined);
  const same = compile();
  assert.notEqual(filter.apply(call(same, 't.v1.S/Rate', A)), undefined, 'same rule id and numbers: still exhausted');
  const changed = compile(POLICY.replace('requests: 5, per: 1m, burst: 2', 'requests: 6, per: 1m, burst: 2'));
  assert.equal(filter.apply(call(changed, 't.v1.S/Rate', A)), undefined);
});

test('the sweep forgets full buckets, so idle callers cost no memory', () => {
  const snap = compile();
  const { filter, registry, clock, call } = setup();
  for (let i = 0; i < 50; i++) filter.apply(call(snap, 't.v1.S/Rate', `spiffe://cluster.local/ns/n/sa/s${i}`));
  const limiter = registry.rate(snap.lookup('t.v1.S/Rate')!.rateLimits[0]!).limiter as unknown as { keys: number };
  assert.equal(limiter.keys, 50);
  clock.advance(11_000);
  registry.sweep();
  assert.equal(limiter.keys, 50, 'not refilled yet');
  clock.advance(2_000);
  registry.sweep();
  assert.equal(limiter.keys, 0);
});
