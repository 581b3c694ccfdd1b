// The token-capped parse, and the graphql-js Parser internals it relies on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'graphql';
import { Parser } from 'graphql/language/parser.js';
import { parseDocument } from './parse-document.js';

describe('parseDocument', () => {
  it('relies on graphql-js Parser internals that still exist (fails loudly if they change)', () => {
    const p = new Parser('{ a b }', { maxLexicalTokens: 3 });
    assert.equal(typeof p.parseDocument, 'function');
    assert.throws(() => p.parseDocument(), /Document contains more that 3 tokens/);
    assert.equal(p.tokenCount, 4, 'Parser.tokenCount counts the token that passed the cap');
  });

  it('counts tokens as graphql-js parse() does (comments and EOF excluded)', () => {
    for (const text of ['{ a }', 'query Q($x: Int = 3) { a(x: $x) @skip(if: true) { ...F } } # c\n fragment F on T { b }', '{ a(s: "x\\"y", b: """z""") }']) {
      const r = parseDocument(text, 1000);
      assert.ok(r.ok);
      assert.equal(r.tokens, parse(text).tokenCount);
    }
  });

  it('stops at the cap', () => {
    const r = parseDocument('{ a b c d e f }', 4);
    assert.ok(!r.ok && r.tokenLimited && r.failure.code === 'MAX_TOKENS_LIMIT' && r.failure.limit === 4);
    assert.ok(parseDocument('{ a b c d e f }', 8).ok);
    assert.equal(parseDocument('{ a b c d e f }', 7).ok, false);
  });

  it('syntax errors: short, positioned, without the offending text', () => {
    const r = parseDocument(`{ a(s: "${'secret'.repeat(50)}" }`, 1000);
    assert.ok(!r.ok && !r.tokenLimited);
    assert.equal(r.failure.code, 'GRAPHQL_PARSE_FAILED');
    assert.equal(r.failure.status, 400);
    assert.doesNotMatch(r.failure.message, /secret/);
    assert.match(r.failure.message, /line 1, column \d+/);
  });
});
