// Parses a GraphQL document with graphql-js under a lexical-token cap, so work is bounded
// before anything else runs, and reports the token count (graphql-js's own counter, the one
// its maxTokens option checks). DATA path.
import type { DocumentNode } from 'graphql';
import { GraphQLError } from 'graphql';
import { Parser } from 'graphql/language/parser.js';
import { parseFailure, tokensFailure, type AnalysisFailure } from './failures.js';

export type ParseOutcome =
  | { readonly ok: true; readonly doc: DocumentNode; readonly tokens: number }
  /** `tokens`: how many tokens the parser had read when it failed (a lower bound of the document's). */
  | { readonly ok: false; readonly failure: AnalysisFailure; readonly tokens: number; readonly tokenLimited: boolean };

/**
 * graphql-js 16.15's Parser counts non-EOF tokens in `tokenCount` and throws once the count
 * passes `maxLexicalTokens`; parse-document.test.ts fails loudly if that changes.
 */
export function parseDocument(text: string, maxTokens: number): ParseOutcome {
  const parser = new Parser(text, { noLocation: true, maxLexicalTokens: maxTokens });
  try {
    const doc = parser.parseDocument();
    return { ok: true, doc, tokens: parser.tokenCount };
  } catch (err) {
    const tokens = parser.tokenCount;
    if (tokens > maxTokens) return { ok: false, failure: tokensFailure(maxTokens, undefined), tokens, tokenLimited: true };
    // A RangeError (stack overflow on absurd nesting) is a parse failure too, never a crash.
    return { ok: false, failure: parseFailure(syntaxMessage(err)), tokens, tokenLimited: false };
  }
}

/**
 * graphql-js messages quote the offending token ("found String \"...\""), which may be a
 * long piece of the document: keep what the grammar expected and the position only.
 */
function syntaxMessage(err: unknown): string {
  if (!(err instanceof GraphQLError)) return 'Syntax Error: the document nests too deeply.';
  const at = err.locations?.[0];
  const where = at === undefined ? '' : ` (line ${at.line}, column ${at.column})`;
  const m = err.message;
  const expected = /^Syntax Error: (Expected [^,]*?|Unterminated string|Invalid number|Unexpected <EOF>)[,.]/.exec(m);
  return `Syntax Error: ${expected?.[1] ?? 'unexpected character or token'}${where}.`;
}
