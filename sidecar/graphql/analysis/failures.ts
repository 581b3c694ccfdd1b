// Failure values of the analysis: a stable code, a short message that never echoes the
// document nor suggests field names, and the HTTP status the GraphQL-over-HTTP spec gives
// for application/graphql-response+json. DATA path (values only).

/**
 * GRAPHQL_PARSE_FAILED 400 · the document does not parse (spec: document parsing failure).
 * MAX_TOKENS_LIMIT 400 · more lexical tokens than allowed; parsing stopped there.
 * GRAPHQL_VALIDATION_FAILED 400 · parsed, but fails validation (against the schema if any).
 * OPERATION_NAME_REQUIRED 400 · several operations and no operationName.
 * OPERATION_NOT_FOUND 400 · operationName names no operation of the document.
 * (Subscriptions are analyzed like the others, with type 'subscription': the guard decides.)
 */
export type AnalysisFailureCode =
  | 'GRAPHQL_PARSE_FAILED'
  | 'MAX_TOKENS_LIMIT'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'OPERATION_NAME_REQUIRED'
  | 'OPERATION_NOT_FOUND';

export interface AnalysisFailure {
  readonly code: AnalysisFailureCode;
  readonly message: string;
  readonly status: 400;
  readonly limit?: number;
  readonly actual?: number;
}

export function parseFailure(message: string): AnalysisFailure {
  return Object.freeze({ code: 'GRAPHQL_PARSE_FAILED', message, status: 400 });
}

export function tokensFailure(limit: number, actual: number | undefined): AnalysisFailure {
  const message = `Document has more than ${limit} tokens.`;
  return Object.freeze(actual === undefined ? { code: 'MAX_TOKENS_LIMIT', message, status: 400, limit } : { code: 'MAX_TOKENS_LIMIT', message, status: 400, limit, actual });
}

export function validationFailure(message: string): AnalysisFailure {
  return Object.freeze({ code: 'GRAPHQL_VALIDATION_FAILED', message, status: 400 });
}

export const OPERATION_NAME_REQUIRED: AnalysisFailure = Object.freeze({
  code: 'OPERATION_NAME_REQUIRED',
  message: 'The document has several operations: operationName is required.',
  status: 400,
});

export const OPERATION_NOT_FOUND: AnalysisFailure = Object.freeze({
  code: 'OPERATION_NOT_FOUND',
  message: 'operationName names no operation of the document.',
  status: 400,
});

/** A name from the document, quoted and cut short, for messages. */
export function quoteName(name: string): string {
  return `"${name.length > 40 ? `${name.slice(0, 40)}…` : name}"`;
}
