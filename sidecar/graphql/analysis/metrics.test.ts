// Depth, aliases, root fields, directives and tokens at known values, fragments expanded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analysis, schemaless } from './shop-harness.test.js';

describe('metrics', () => {
  it('depth: { a } = 1, nested fields, fragments expanded', () => {
    assert.equal(analysis('{ me { id } }').depth, 2);
    assert.equal(analysis('{ __typename }').depth, 1);
    assert.equal(analysis('{ me { friends(first: 1) { edges { node { address { city } } } } } }').depth, 6);
    assert.equal(analysis('{ me { ...F } } fragment F on User { friends { nodes { ...G } } } fragment G on User { address { city } }').depth, 5);
    assert.equal(analysis('{ me { ... on User { address { city } } } }').depth, 3);
    // introspection fields count like any other
    assert.equal(analysis('{ __schema { types { fields { name } } } }').depth, 4);
  });

  it('aliases: counted per selection, fragments expanded per spread', () => {
    assert.equal(analysis('{ a: me { id } b: me { n: name } }').aliases, 3);
    assert.equal(analysis('{ me { ...F ...F ... on User { ...F } } } fragment F on User { x: id y: name }').aliases, 6);
    assert.equal(analysis('{ me { id } }').aliases, 0);
  });

  it('rootFields: duplicates counted, fragments and inline fragments at the root expanded', () => {
    const dup = analysis('{ me { id } me { id } __typename }');
    assert.equal(dup.rootFields, 3);
    assert.equal(dup.cost(undefined), 2); // each `me` costs its type weight, duplicates included
    assert.equal(analysis('{ ...R ... on Query { me { id } } } fragment R on Query { a: me { id } b: me { id } }').rootFields, 3);
    assert.equal(analysis('{ me { ...F } } fragment F on User { id name }').rootFields, 1);
  });

  it('directives: every use, fragments expanded', () => {
    const op = analysis(
      'query Q($x: Boolean!) { me @include(if: $x) { id @skip(if: $x) ...F @include(if: true) } } fragment F on User { name @skip(if: false) }',
      'Q',
    );
    assert.equal(op.directives, 4);
    assert.equal(analysis('{ me { ...F ...F } } fragment F on User { name @skip(if: false) email @include(if: true) }').directives, 4);
  });

  it('alias bomb numbers', () => {
    const n = 500;
    const q = `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    const op = analysis(q);
    assert.equal(op.aliases, n);
    assert.equal(op.rootFields, n);
    assert.equal(op.depth, 2);
    assert.equal(op.cost(undefined), n); // each me: type weight 1, id 0
  });

  it('tokens: the whole document, as graphql-js counts them', () => {
    const op = analysis('query A { me { id } } # comment\nquery B { me { name } }', 'A');
    assert.equal(op.tokens, 16); // 8 per operation; comments are not tokens
    assert.equal(op.name, 'A');
    assert.equal(op.type, 'query');
  });

  it('schemaless: same counts', () => {
    const a = schemaless();
    const r = a.analyze('{ x: a { b { c } } ...F } fragment F on Query { d @skip(if: true) }', undefined, 1000);
    assert.ok(r.ok);
    assert.equal(r.op.depth, 3);
    assert.equal(r.op.aliases, 1);
    assert.equal(r.op.rootFields, 2);
    assert.equal(r.op.directives, 1);
    assert.equal(r.op.schemaless, true);
  });
});
