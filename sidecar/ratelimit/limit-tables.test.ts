// The limit tables a published snapshot gets: every rule's limiters and refusals built then
// (not on the first call), state kept across a reload where id and numbers match.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { policyOf } from '../pipeline/call.test-helper.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './frame-size-guard.js';
import { LimiterRegistry } from './limiter-registry.js';

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: t }
spec:
  grpc:
    - methods: ["t.v1.S/A"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 5, per: 1m, by: principal }
      concurrency: { max: 2, queue: 1, queueTimeout: 100ms }
      bandwidth: { bytesPerSecond: 1Mi, by: global }
      maxMessageBytes: 1Ki
    - methods: ["t.v1.S/Shadow"]
      allow: [ { principals: ["*"] } ]
      bandwidth: { bytesPerSecond: 1Mi, by: global, mode: audit }
      maxMessageBytes: 1Ki
  graphql:
    - path: /graphql
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 50, per: 1s, by: principal }
      costBudget: { points: 1000, per: 1m, by: principal }
`;

const registry = () => new LimiterRegistry({ store: undefined, maxKeysPerRule: 10, maxRedisKeysPerRule: 10 });

test('every rule of the snapshot has its limiters and prepared refusals when it is published', () => {
  const policy = policyOf(POLICY);
  const r = registry();
  const tables = r.publish(policy);
  assert.equal(r.size, 5, 'rate, concurrency, bandwidth of A; the endpoint rate limit and cost budget (audit bandwidth not applied)');
  const a = tables.forRule(policy.lookup('t.v1.S/A'));
  assert.equal(a.rate.length, 1);
  assert.equal(a.concurrency[0]!.full.reason, 'concurrency_queue_full');
  assert.equal(a.concurrency[0]!.timeout.reason, 'concurrency_queue_timeout');
  assert.equal(a.bandwidth.length, 1);
  assert.equal(a.maxMessageBytes, 1024);
  assert.equal(a.tooLarge.rule, 't:grpc[0]');
  const shadow = tables.forRule(policy.lookup('t.v1.S/Shadow'));
  assert.equal(shadow.bandwidth.length, 0, 'audit-mode bandwidth is not applied');
  const none = tables.forRule(undefined);
  assert.equal(none.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
  const endpoint = policy.graphqlRule('/graphql')!;
  assert.equal(tables.forRule(endpoint.access).rate.length, 1);
  assert.equal(tables.costBudgets(endpoint).length, 1);
});

test('a reload keeps the state of unchanged limits; limits no current rule uses are retired after idle sweeps', () => {
  const r = registry();
  const p1 = policyOf(POLICY);
  const p2 = policyOf(POLICY);
  const rateOf = (p: typeof p1) => r.publish(p).forRule(p.lookup('t.v1.S/A')).rate[0]!.entry;
  assert.equal(rateOf(p1), rateOf(p2), 'same id and numbers: the same limiter, its buckets kept');
  r.publish(policyOf(POLICY.replace('requests: 5, per: 1m', 'requests: 6, per: 1m')));
  const size = r.size;
  for (let i = 0; i < 62; i++) r.sweep();
  assert.equal(r.size, size - 1, 'the old rate limiter was retired; current ones stay however idle');
});
