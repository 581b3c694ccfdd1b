// IBM cost directive semantics: slicing arguments (literal, variable, defaults), assumedSize,
// weights on fields, types, arguments and input fields, mutation default, sizedFields, caps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphqlAnalyzer } from './analyze.js';
import { buildSchemaInfo } from './schema-info.js';
import { analysis, shopAnalyzer } from './shop-harness.test.js';

/** The cost of `query` against `sdl` (IBM directives implicit) with `variables`. */
function costOf(sdl: string, query: string, variables?: Record<string, unknown>, defaultListSize?: number): number {
  const r = buildSchemaInfo(sdl, 't.graphql');
  if (!r.ok) throw new Error(r.problems.join('\n'));
  const a = new GraphqlAnalyzer({ schema: r.info, defaultListSize });
  const res = a.analyze(query, undefined, 10_000);
  if (!res.ok) throw new Error(res.failure.message);
  return res.op.cost(variables);
}

// The IBM spec's own example: users(max) sliced, User.age weight "2.0".
const IBM = `
type User { name: String age: Int @cost(weight: "2.0") }
type Query { users(max: Int): [User] @listSize(slicingArguments: ["max"]) }`;

describe('IBM cost', () => {
  it('slicing argument as a literal', () => {
    // 5 × (User 1 + name 0 + age 2)
    assert.equal(costOf(IBM, '{ users(max: 5) { name age } }'), 15);
  });

  it('slicing argument as a variable, its default, then the default list size', () => {
    const q = 'query($n: Int) { users(max: $n) { age } }';
    assert.equal(costOf(IBM, q, { n: 7 }), 21);
    assert.equal(costOf(IBM, q, {}), 30); // absent, no default: defaultListSize 10
    assert.equal(costOf(IBM, q, undefined, 4), 12);
    assert.equal(costOf(IBM, 'query($n: Int = 2) { users(max: $n) { age } }', {}), 6);
    assert.equal(costOf(IBM, 'query($n: Int = 2) { users(max: $n) { age } }', { n: 3 }), 9);
    assert.equal(costOf(IBM, q, { n: 'lots' }), 30); // not a number: not given
    assert.equal(costOf(IBM, q, { n: null }), 30);
    // a number that is not a size: priced at the cap, never 0 (slicing-property.test.ts has more)
    assert.equal(costOf(IBM, q, { n: -4 }), Number.MAX_SAFE_INTEGER);
    assert.equal(costOf(IBM, q, { n: 2.5 }), Number.MAX_SAFE_INTEGER);
    assert.equal(costOf(IBM, q, { n: 0 }), 3); // still resolved: one item's worth
    // only the variables' own properties count
    assert.equal(costOf(IBM, 'query($constructor: Int = 2) { users(max: $constructor) { age } }', {}), 6);
  });

  it('several slicing arguments: the largest; nested input paths', () => {
    const sdl = `input F { max: Int }
      type Query { items(first: Int, last: Int, f: F): [Int] @listSize(slicingArguments: ["first", "last", "f.max"], requireOneSlicingArgument: false) }`;
    // a list of Int: 0 per item (scalar weight), so weight the field to see the size
    const weighted = sdl.replace('[Int]', '[T]') + ' type T { x: Int @cost(weight: "1") }';
    assert.equal(costOf(weighted, '{ items(first: 3, last: 8) { x } }'), 16);
    assert.equal(costOf(weighted, '{ items(f: { max: 6 }) { x } }'), 12);
    assert.equal(costOf(weighted, 'query($f: F) { items(f: $f) { x } }', { f: { max: 9 } }), 18);
    assert.equal(costOf(weighted, 'query($m: Int) { items(f: { max: $m }) { x } }', { m: 4 }), 8);
  });

  it('assumedSize, and the schema default of an omitted slicing argument', () => {
    const sdl = `type T { x: Int }
      type Query {
        a: [T] @listSize(assumedSize: 3)
        b(first: Int = 4): [T] @listSize(slicingArguments: ["first"], assumedSize: 100, requireOneSlicingArgument: false)
        c(first: Int): [T] @listSize(slicingArguments: ["first"], assumedSize: 100, requireOneSlicingArgument: false)
        d: [T]
      }`;
    assert.equal(costOf(sdl, '{ a { x } }'), 3);
    assert.equal(costOf(sdl, '{ b { x } }'), 4);
    assert.equal(costOf(sdl, '{ c { x } }'), 100);
    assert.equal(costOf(sdl, '{ d { x } }'), 10);
    assert.equal(costOf(sdl, '{ d { x } }', undefined, 25), 25);
  });

  it('a slicing literal that is not an integer >= 0 fails validation; 0 costs one item', () => {
    const bad = (query: string): string => {
      const r = buildSchemaInfo(IBM, 't.graphql');
      assert.ok(r.ok);
      const res = new GraphqlAnalyzer({ schema: r.info }).analyze(query, undefined, 10_000);
      assert.ok(!res.ok, query);
      assert.equal(res.failure.code, 'GRAPHQL_VALIDATION_FAILED');
      return res.failure.message;
    };
    assert.match(bad('{ users(max: -1) { age } }'), /"max" of "Query.users" must be an integer >= 0/);
    bad('{ users(max: 2.5) { age } }');
    bad('{ users(max: -0.5) { age } }');
    // issue 21: the negative first used to make this whole tree cost 0
    const nested = `type U { id: ID friends(first: Int): [U] @listSize(slicingArguments: ["first"]) }
      type Query { users(first: Int): [U] @listSize(slicingArguments: ["first"]) }`;
    assert.throws(() => costOf(nested, '{ users(first: -1) { friends(first: 1000) { friends(first: 1000) { id } } } }'), /must be an integer >= 0/);
    assert.equal(costOf(nested, '{ users(first: 0) { friends(first: 1000) { friends(first: 1000) { id } } } }'), 1 * (1 + 1000 * (1 + 1000)));
    assert.equal(costOf(IBM, '{ users(max: 2.0) { age } }'), 6);
  });

  it('requireOneSlicingArgument (default true): exactly one slicing argument written', () => {
    const sdl = `type T { x: Int @cost(weight: "1") }
      type Query {
        strict(first: Int, last: Int): [T] @listSize(slicingArguments: ["first", "last"], assumedSize: 5)
        loose(first: Int, last: Int): [T] @listSize(slicingArguments: ["first", "last"], assumedSize: 5, requireOneSlicingArgument: false)
      }`;
    assert.throws(() => costOf(sdl, '{ strict { x } }'), /needs exactly one of its slicing arguments \(first, last\)/);
    assert.throws(() => costOf(sdl, '{ strict(first: 2, last: 3) { x } }'), /exactly one/);
    assert.throws(() => costOf(sdl, '{ strict(first: null) { x } }'), /exactly one/);
    assert.equal(costOf(sdl, '{ strict(last: 3) { x } }'), 6);
    // A variable counts as written; null or absent at run time, it is "not given": assumedSize.
    assert.equal(costOf(sdl, 'query($n: Int) { strict(first: $n) { x } }', { n: 4 }), 8);
    assert.equal(costOf(sdl, 'query($n: Int) { strict(first: $n) { x } }', {}), 10);
    assert.equal(costOf(sdl, '{ loose { x } }'), 10);
    assert.equal(costOf(sdl, '{ loose(first: 2, last: 3) { x } }'), 6);
  });

  it('@cost on types, fields, arguments, scalars, enums and input fields', () => {
    const sdl = `scalar Big @cost(weight: "7")
      enum E @cost(weight: "2") { A }
      input I { deep: Boolean @cost(weight: "3") }
      type T @cost(weight: "5") { big: Big e: E n: Int @cost(weight: "1.5") }
      type Query { t(arg: Int @cost(weight: "4"), i: I): T @cost(weight: "6") }`;
    assert.equal(costOf(sdl, '{ t { n } }'), 6 + 5 + 1.5);
    assert.equal(costOf(sdl, '{ t(arg: 1) { big e } }'), 6 + 4 + 5 + 7 + 2);
    assert.equal(costOf(sdl, '{ t(i: { deep: true }) { n } }'), 6 + 3 + 5 + 1.5);
  });

  it('root mutation fields default to 10', () => {
    const op = analysis('mutation { createOrder(productId: "1", quantity: 1) { id } deleteOrder(id: "1") }');
    // createOrder: 10 + Order 3 ; deleteOrder: @cost 20 (+ Boolean 0)
    assert.equal(op.cost(undefined), 33);
  });

  it('sizedFields: a connection passes its size to edges and nodes, through fragments', () => {
    const q = 'query($n: Int) { me { friends(first: $n) { ...C totalCount } } } fragment C on UserConnection { edges { node { id } } nodes { id } }';
    const op = analysis(q);
    // me 1 + friends 1 + n × (edges: UserEdge 1 + node 1) + n × (nodes: User 1)
    assert.equal(op.cost({ n: 5 }), 2 + 5 * 2 + 5 * 1);
    assert.equal(op.cost({ n: 100 }), 2 + 300);
    assert.equal(op.cost({}), 2 + 30);
  });

  it('costs stay finite and capped', () => {
    const op = analysis('{ users(first: 99999999999999999999) { friends(first: 99999999999999999999) { nodes { friends(first: 99999999999999999999) { nodes { id } } } } } }');
    assert.equal(op.cost(undefined), Number.MAX_SAFE_INTEGER);
    const v = analysis('query($n: Int) { users(first: $n) { orders(first: $n) { id } } }');
    assert.equal(v.cost({ n: Number.MAX_VALUE }), Number.MAX_SAFE_INTEGER);
    assert.equal(v.cost({ n: Infinity }), Number.MAX_SAFE_INTEGER); // not a size
  });

  it('constant when no variable slices, and cheap per call otherwise', () => {
    const a = shopAnalyzer();
    const r = a.analyze('query($n: Int) { users(first: $n) { id ...O } } fragment O on User { orders { id } }', undefined, 1000);
    assert.ok(r.ok);
    let sink = 0;
    // Best of 5 rounds: on a shared, loaded machine one round can be descheduled.
    let ns = Infinity;
    for (let round = 0; round < 5; round++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 10_000; i++) sink += r.op.cost({ n: i & 7 });
      ns = Math.min(ns, Number(process.hrtime.bigint() - start) / 10_000);
    }
    assert.ok(sink > 0);
    assert.ok(ns < 20_000, `cost() took ${ns} ns`);
  });
});
