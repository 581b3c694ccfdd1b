// buildSchemaInfo: directives added, tables precomputed, problems as FILE:LINE:COL: message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSchemaInfo } from './schema-info.js';
import { shopSchema } from './shop-harness.test.js';

const problems = (sdl: string): readonly string[] => {
  const r = buildSchemaInfo(sdl, 'schema.graphql');
  assert.equal(r.ok, false, 'expected problems');
  return r.ok ? [] : r.problems;
};

describe('buildSchemaInfo', () => {
  it('adds the IBM directives when the SDL does not declare them', () => {
    const info = shopSchema();
    assert.deepEqual(info.schema.getDirective('cost')?.args.map((a) => String(a.type)), ['String!']);
    assert.deepEqual(
      info.schema.getDirective('listSize')?.args.map((a) => `${a.name}: ${String(a.type)}`),
      ['assumedSize: Int', 'slicingArguments: [String!]', 'sizedFields: [String!]', 'requireOneSlicingArgument: Boolean'],
    );
    assert.equal(info.file, 'shop.graphql');
  });

  it('keeps declarations the SDL makes itself', () => {
    const r = buildSchemaInfo('directive @cost(weight: Float!) on FIELD_DEFINITION\ntype Query { a: Int @cost(weight: 2.5) }', 's');
    assert.ok(r.ok);
    assert.equal(r.info.roots.query?.fields.get('a')?.weight, 2.5);
  });

  it('precomputes weights, list plans and related coordinates', () => {
    const q = shopSchema().roots.query!;
    const users = q.fields.get('users')!;
    assert.equal(users.list, true);
    assert.equal(users.listSize?.assumedSize, 100);
    assert.deepEqual(users.listSize?.slicing, [{ arg: 'first', rest: [], schemaDefault: undefined }]);
    assert.equal(users.args.get('search')?.weight, 4);
    assert.equal(shopSchema().roots.mutation?.fields.get('createOrder')?.weight, 10);
    assert.equal(shopSchema().composites.get('Query')?.fields.get('node')?.typeWeight, 1);
    assert.equal(shopSchema().composites.get('Product')?.fields.get('price')?.typeWeight, 1); // Money @cost
    assert.deepEqual(shopSchema().composites.get('Account')?.fields.get('email')?.related, ['User.email', 'Admin.email']);
    assert.deepEqual(shopSchema().composites.get('User')?.fields.get('id')?.related, ['Account.id', 'Node.id']);
  });

  it('problems are FILE:LINE:COL: message', () => {
    assert.match(problems('type Query {\n  a: Nope\n}')[0]!, /^schema\.graphql:2:6: Unknown type "Nope"/);
    assert.match(problems('type Query { a: Int')[0]!, /^schema\.graphql:1:20: Syntax Error/);
    assert.match(problems('type T { a: Int }')[0]!, /^schema\.graphql:1:1: Query root type must be provided/);
    assert.match(problems('type Query {\n  a: Int @cost(weight: "-1")\n}')[0]!, /^schema\.graphql:2:10: @cost weight must be a number >= 0/);
    assert.match(problems('type Query { a: Int @cost(weight: "lots") }')[0]!, /@cost weight/);
    assert.match(problems('type Query { a(first: Int): [Int] @listSize(slicingArguments: ["frist"]) }')[0]!, /"frist" is not an argument/);
    assert.match(problems('type T { x: Int } type Query { a: T @listSize(sizedFields: ["edges"]) }')[0]!, /sized field "edges"/);
    assert.match(problems('type Query { a: [Int] @listSize(assumedSize: -2) }')[0]!, /assumedSize/);
  });
});
