// Validation against the schema and without one: what fails, with which code and status,
// and that no message suggests names or echoes the document.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analysis, failure, schemaless } from './shop-harness.test.js';

const invalid = (query: string, pattern: RegExp, operationName?: string) => {
  const f = failure(query, operationName);
  assert.equal(f.code, 'GRAPHQL_VALIDATION_FAILED', f.message);
  assert.equal(f.status, 400);
  assert.match(f.message, pattern);
  return f;
};

describe('validation against the schema', () => {
  it('unknown fields, with no "Did you mean" suggestion', () => {
    const f = invalid('{ me { emial } }', /Cannot query field "emial" on type "User"/);
    assert.doesNotMatch(f.message, /did you mean/i);
    invalid('{ mee { id } }', /Cannot query field "mee" on type "Query"/);
    invalid('{ accounts { permissions } }', /on type "Account"/);
    invalid('{ search(text: "x") { id } }', /on type "SearchResult"/);
    invalid('{ me { __schema { types { name } } } }', /"__schema" on type "User"/);
  });

  it('no failure message anywhere suggests names or echoes long text', () => {
    const queries = [
      '{ me { emial } }',
      '{ user(idd: "1") { id } }',
      '{ me { ...Fragg } } fragment Frag on User { id }',
      '{ me { ... on Usr { id } } }',
      '{ me @inclde(if: true) { id } }',
      'query($a: Strin) { me { id } }',
      `{ me { name(x: "${'y'.repeat(5000)}") } }`,
      `{ me { id } ${'z'.repeat(3000)} }`,
      `{ me { id "${'unterminated'.repeat(300)} } }`,
    ];
    for (const q of queries) {
      const f = failure(q);
      assert.doesNotMatch(f.message, /did you mean/i, f.message);
      assert.ok(f.message.length < 160, f.message);
    }
  });

  it('unknown arguments, types, fragments, directives', () => {
    invalid('{ user(idd: "1") { id } }', /Unknown argument "idd" on field "Query.user"/);
    invalid('{ me { ... on Usr { id } } }', /Unknown type "Usr"/);
    invalid('{ me { ...Nope } }', /Unknown fragment "Nope"/);
    invalid('{ me @inclde(if: true) { id } }', /Unknown directive "@inclde"/);
    invalid('{ me @include(iff: true) { id } }', /Unknown argument "iff" on directive/);
    invalid('query @include(if: true) { me { id } }', /may not be used on QUERY/);
    invalid('query($a: Strin) { me { id } }', /Unknown type "Strin"/);
    invalid('query($a: User) { me { id } }', /non-input type/);
    invalid('query { user(id: $id) { id } }', /Variable "\$id" is not defined/);
    invalid('query { me { ...F } } fragment F on User { friends(first: $n) { totalCount } }', /Variable "\$n" is not defined/);
  });

  it('fragments on wrong types', () => {
    invalid('{ me { ... on Product { id } } }', /can never apply to "User"/);
    invalid('{ me { ...P } } fragment P on Product { id }', /can never apply/);
    invalid('{ me { ...S } } fragment S on String { id }', /non composite type "String"/);
    analysis('{ node(id: "1") { ... on Order { id } } }');
    analysis('{ search(text: "") { ... on Account { name } } }');
  });

  it('scalar leafs', () => {
    invalid('{ me }', /"Query.me" must have a selection/);
    invalid('{ me { name { x } } }', /"User.name" must not have a selection/);
    invalid('{ me { __typename { x } } }', /__typename/);
  });

  it('fragment cycles fail fast, never hang', () => {
    const start = Date.now();
    invalid('{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }', /within itself/);
    invalid('{ me { ...A } } fragment A on User { friends { nodes { ...A } } }', /within itself/);
    invalid('{ me { ...A } } fragment A on User { ... on User { ...A } }', /within itself/);
    const r = schemaless().analyze('{ a { ...A } } fragment A on T { b { ...B } } fragment B on T { ...A }', undefined, 1000);
    assert.ok(!r.ok && /within itself/.test(r.failure.message));
    assert.ok(Date.now() - start < 1000);
  });

  it('document rules: operations and fragments only, unique names, lone anonymous, used fragments', () => {
    invalid('query A { me { id } } query A { me { name } }', /only one operation named "A"/, 'A');
    invalid('{ me { id } } query B { me { id } }', /anonymous operation must be the only/, 'B');
    invalid('{ me { ...F } } fragment F on User { id } fragment F on User { name }', /only one fragment named "F"/);
    invalid('{ me { id } } fragment F on User { id }', /"F" is never used/);
    invalid('{ me { id } } type X { a: Int }', /only operations and fragments/);
    invalid('fragment F on User { id }', /no operation/);
    invalid('mutation { deleteOrder(id: "1") } subscription { orderUpdated(id: "1") { id } } query Q { me { id } }', /anonymous/, 'Q');
  });

  it('a document with an invalid operation fails whichever operation is asked for', () => {
    const q = 'query Good { me { id } } query Bad { me { nope } }';
    invalid(q, /nope/, 'Good');
    invalid(q, /nope/, 'Bad');
  });

  it('deep nesting fails, never overflows the stack', () => {
    const nested = (n: number) => `{ me { ${'friends { nodes { '.repeat(n)} id ${'} } '.repeat(n)} } }`;
    assert.ok(analysis(nested(100)).depth === 202);
    const f = failure(nested(5000));
    assert.equal(f.code, 'GRAPHQL_PARSE_FAILED'); // graphql-js's parser recursion, caught
    // Fragments chained deeper than the parser ever nests: the walk's own bound.
    const chain = Array.from({ length: 700 }, (_, i) => `fragment F${i} on User { friends { nodes { ...F${i + 1} } } }`).join(' ');
    const g = failure(`{ me { ...F0 } } ${chain} fragment F700 on User { id }`);
    assert.equal(g.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.match(g.message, /nests too deeply/);
  });

  it('schemaless: syntax, fragments and operation choice only', () => {
    const a = schemaless();
    assert.ok(a.analyze('{ anything(x: 1) { at { all } } }', undefined, 1000).ok);
    const unknown = a.analyze('{ a { ...Missing } }', undefined, 1000);
    assert.ok(!unknown.ok && unknown.failure.code === 'GRAPHQL_VALIDATION_FAILED');
    const syntax = a.analyze('{ a { b }', undefined, 1000);
    assert.ok(!syntax.ok && syntax.failure.code === 'GRAPHQL_PARSE_FAILED' && syntax.failure.status === 400);
  });
});
