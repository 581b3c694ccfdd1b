// GraphqlAnalyzer: operation choice, the token cap (cached or not), and the LRU cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analysis, failure, schemaless, shopAnalyzer } from './shop-harness.test.js';

describe('operation choice', () => {
  const two = 'query A { me { id } } mutation B { deleteOrder(id: "1") }';

  it('operationName selects among several operations', () => {
    assert.equal(analysis(two, 'A').type, 'query');
    const b = analysis(two, 'B');
    assert.equal(b.type, 'mutation');
    assert.equal(b.name, 'B');
    assert.ok(b.fields.has('Mutation.deleteOrder'));
  });

  it('several operations and no operationName: OPERATION_NAME_REQUIRED, never the first one', () => {
    for (const name of [undefined, null]) {
      const f = failure(two, name);
      assert.equal(f.code, 'OPERATION_NAME_REQUIRED');
      assert.equal(f.status, 400);
    }
  });

  it('a name not in the document: OPERATION_NOT_FOUND', () => {
    for (const [q, name] of [[two, 'C'], ['{ me { id } }', 'A'], ['query A { me { id } }', '']] as const) {
      const f = failure(q, name);
      assert.equal(f.code, 'OPERATION_NOT_FOUND');
      assert.equal(f.status, 400);
    }
  });

  it('a single operation, named or not, without operationName', () => {
    assert.equal(analysis('query A { me { id } }').name, 'A');
    assert.equal(analysis('{ me { id } }').name, undefined);
    assert.equal(analysis('subscription S { orderUpdated(id: "1") { id } }').type, 'subscription');
  });

  it('schemaless too', () => {
    const a = schemaless();
    const r = a.analyze(two, undefined, 1000);
    assert.ok(!r.ok && r.failure.code === 'OPERATION_NAME_REQUIRED');
    const b = a.analyze(two, 'B', 1000);
    assert.ok(b.ok && b.op.type === 'mutation' && b.op.cost(undefined) === 10);
  });
});

describe('token cap', () => {
  const q = '{ me { id name } }'; // 7 tokens

  it('over the cap: MAX_TOKENS_LIMIT, parsing stopped', () => {
    const f = failure(q, undefined, shopAnalyzer(), 6);
    assert.equal(f.code, 'MAX_TOKENS_LIMIT');
    assert.equal(f.status, 400);
    assert.equal(f.limit, 6);
    assert.equal(analysis(q).tokens, 7);
    assert.ok(shopAnalyzer().analyze(q, undefined, 7).ok);
  });

  it('a cached document still refuses a smaller cap, with the actual count', () => {
    const a = shopAnalyzer();
    assert.ok(a.analyze(q, undefined, 100).ok);
    const f = failure(q, undefined, a, 5);
    assert.equal(f.code, 'MAX_TOKENS_LIMIT');
    assert.equal(f.limit, 5);
    assert.equal(f.actual, 7);
    assert.ok(a.analyze(q, undefined, 7).ok);
    assert.deepEqual(a.stats(), { hits: 2, misses: 1, entries: 1 });
  });

  it('a token-limit failure is not cached (it depends on the cap)', () => {
    const a = shopAnalyzer();
    assert.equal(failure(q, undefined, a, 3).code, 'MAX_TOKENS_LIMIT');
    assert.ok(a.analyze(q, undefined, 100).ok);
    assert.equal(a.stats().entries, 1);
  });

  it('a cached parse failure refuses a cap below the tokens read before it', () => {
    const a = shopAnalyzer();
    const bad = '{ me { id name } } }';
    assert.equal(failure(bad, undefined, a).code, 'GRAPHQL_PARSE_FAILED');
    assert.equal(failure(bad, undefined, a, 3).code, 'MAX_TOKENS_LIMIT');
  });

  it('NaN fails closed', () => {
    assert.equal(failure(q, undefined, shopAnalyzer(), Number.NaN).code, 'MAX_TOKENS_LIMIT');
  });
});

describe('cache', () => {
  it('hits return the same analysis; per operation name; failures cached', () => {
    const a = shopAnalyzer();
    const q = 'query A { me { id } } query B { me { name } }';
    const r1 = a.analyze(q, 'A', 100);
    const r2 = a.analyze(`${q}`, 'A', 100);
    assert.ok(r1.ok && r2.ok);
    assert.equal(r1.op, r2.op);
    const rb = a.analyze(q, 'B', 100);
    assert.ok(rb.ok && rb.op !== r1.op);
    assert.equal(a.analyze('{ me { nope } }', null, 100).ok, false);
    assert.equal(a.analyze('{ me { nope } }', null, 100).ok, false);
    assert.deepEqual(a.stats(), { hits: 3, misses: 2, entries: 2 });
  });

  it('is bounded (LRU)', () => {
    const a = shopAnalyzer({ cacheEntries: 3 });
    for (let i = 0; i < 10; i++) a.analyze(`{ me { id } } # ${i}`, undefined, 100);
    assert.equal(a.stats().entries, 3);
    a.analyze('{ me { id } } # 7', undefined, 100); // still there
    a.analyze('{ me { id } } # 0', undefined, 100); // evicted
    assert.deepEqual(a.stats(), { hits: 1, misses: 11, entries: 3 });
  });

  it('long documents are keyed by hash', () => {
    const a = shopAnalyzer();
    const long = `{ me { id } } ${'#'.repeat(20_000)}`;
    assert.ok(a.analyze(long, undefined, 100).ok);
    assert.ok(a.analyze(long.slice(0), undefined, 100).ok);
    assert.ok(a.analyze(`{ me { name } } ${'#'.repeat(20_001)}`, undefined, 100).ok);
    assert.deepEqual(a.stats(), { hits: 1, misses: 2, entries: 2 });
  });

  it('cacheEntries 0 disables it', () => {
    const a = shopAnalyzer({ cacheEntries: 0 });
    a.analyze('{ me { id } }', undefined, 100);
    a.analyze('{ me { id } }', undefined, 100);
    assert.deepEqual(a.stats(), { hits: 0, misses: 2, entries: 0 });
  });
});
