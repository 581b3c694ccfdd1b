// Field coordinates (through aliases, fragments, interfaces, unions, @include/@skip) and
// introspection detection, including operations and fragments named like introspection fields.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analysis, schemaless } from './shop-harness.test.js';

const has = (query: string, coordinate: string, path?: string, operationName?: string) => {
  const fields = analysis(query, operationName).fields;
  assert.ok(fields.has(coordinate), `${coordinate} not in ${[...fields.keys()].join(', ')}`);
  if (path !== undefined) assert.equal(fields.get(coordinate), path);
};

describe('field coordinates', () => {
  it('records type.field with the first response path, by field name not alias', () => {
    has('{ me { id } who: user(id: "1") { mail: email } }', 'User.email', 'user.email');
    has('{ who: user(id: "1") { email } }', 'Query.user', 'user');
    has('{ me { a: email } me { email } }', 'User.email', 'me.email');
  });

  it('through named fragments, nested, with prefixed paths', () => {
    has('{ me { ...F } } fragment F on User { friends { nodes { ...G } } } fragment G on User { email }', 'User.email', 'me.friends.nodes.email');
    has('{ ...R } fragment R on Query { me { id } }', 'Query.me', 'me');
  });

  it('through inline fragments', () => {
    has('{ node(id: "1") { ... on User { email } } }', 'User.email', 'node.email');
    has('{ me { ... { email } } }', 'User.email', 'me.email');
  });

  it('interfaces: the field on every implementation, and on the interfaces of an object type', () => {
    for (const c of ['Account.email', 'User.email', 'Admin.email']) has('{ accounts { email } }', c, 'accounts.email');
    has('{ accounts { ... on Account { name } } }', 'User.name');
    has('{ node(id: "1") { ... on Account { email } } }', 'User.email', 'node.email');
    has('{ node(id: "1") { id } }', 'User.id');
    has('{ me { email } }', 'Account.email', 'me.email');
  });

  it('unions: fields through inline fragments and fragments on members', () => {
    has('{ search(text: "x") { ... on Order { total } ...P } } fragment P on Product { price }', 'Order.total', 'search.total');
    has('{ search(text: "x") { ... on Order { total } ...P } } fragment P on Product { price }', 'Product.price', 'search.price');
    has('{ search(text: "x") { ... on Account { email } } }', 'User.email');
  });

  it('fields under @include/@skip count whatever the condition', () => {
    has('query($no: Boolean! = false) { me { email @include(if: $no) } }', 'User.email');
    has('{ me @skip(if: true) { email } }', 'User.email');
    has('{ me { ...F @skip(if: true) } } fragment F on User { email }', 'User.email');
  });

  it('mutations and only fragments reachable from the chosen operation', () => {
    has('mutation { deleteOrder(id: "1") }', 'Mutation.deleteOrder', 'deleteOrder');
    const op = analysis('query A { me { ...F } } query B { me { ...G } } fragment F on User { id } fragment G on User { email }', 'A');
    assert.equal(op.fields.has('User.email'), false);
  });

  it('__typename touches no coordinate', () => {
    const op = analysis('{ __typename me { __typename } }');
    assert.deepEqual([...op.fields.keys()], ['Query.me']);
  });

  it('schemaless: root coordinates only, under the default root names', () => {
    const r = schemaless().analyze(
      'mutation M { deleteOrder(id: 1) { user { email } } ...F } fragment F on Mutation { createOrder { id } }',
      'M',
      1000,
    );
    assert.ok(r.ok);
    assert.deepEqual([...r.op.fields], [['Mutation.deleteOrder', 'deleteOrder'], ['Mutation.createOrder', 'createOrder']]);
    assert.equal(r.op.type, 'mutation');
  });
});

describe('introspection', () => {
  it('__schema and __type, at the root or through fragments', () => {
    assert.equal(analysis('{ __schema { queryType { name } } }').introspection, true);
    assert.equal(analysis('{ __type(name: "User") { name } }').introspection, true);
    assert.equal(analysis('{ ...I } fragment I on Query { __schema { types { name } } }').introspection, true);
    assert.equal(analysis('{ ... on Query { ... on Query { __type(name: "X") { name } } } }').introspection, true);
    assert.ok(analysis('{ __schema { types { name } } }').fields.has('__Schema.types'));
  });

  it('__typename is not introspection', () => {
    assert.equal(analysis('{ __typename me { __typename } }').introspection, false);
  });

  it('an operation or fragment named __schema fools nothing', () => {
    const op = analysis('query __schema { ...__schema } fragment __schema on Query { me { friends { nodes { friends { nodes { email } } } } } }', '__schema');
    assert.equal(op.introspection, false);
    assert.equal(op.depth, 6);
    assert.ok(op.fields.has('User.email'));
    assert.ok(op.cost(undefined) > 100);
    const intro = analysis('query __type { __schema { types { name } } }', '__type');
    assert.equal(intro.introspection, true);
    assert.equal(intro.depth, 3);
  });

  it('schemaless: by field name too', () => {
    const r = schemaless().analyze('{ ...F } fragment F on Query { __schema { types { name } } }', undefined, 1000);
    assert.ok(r.ok && r.op.introspection);
  });
});
