// Reads a GraphQL-over-HTTP request (data path): GET with query parameters, or POST with an
// application/json body holding one request or a batch (an array). The document itself is
// not looked at here (analysis/ does that); bad requests become 400/405/415 refusals.
// https://graphql.github.io/graphql-over-http/draft/

import { RejectCode } from '../core/codes.js';
import type { Rejection } from '../core/filter.js';

export interface OperationRequest {
  readonly query: string;
  readonly operationName: string | undefined;
  readonly variables: Readonly<Record<string, unknown>> | undefined;
}

export type ParsedRequest =
  | { readonly ok: true; readonly operations: readonly OperationRequest[]; readonly batch: boolean }
  | { readonly ok: false; readonly rejection: Rejection };

function bad(detail: string, code: RejectCode = RejectCode.BAD_REQUEST): { ok: false; rejection: Rejection } {
  return { ok: false, rejection: { code, reason: 'bad_graphql_request', detail } };
}

const NOT_ALLOWED = bad('only GET and POST are served', RejectCode.METHOD_NOT_ALLOWED);

/** The path of a request target, without its query string. */
export function targetPath(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

export function parseGetRequest(target: string): ParsedRequest {
  const q = target.indexOf('?');
  const params = new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
  const query = params.get('query');
  if (query === null || query === '') return bad('GET without a query parameter');
  const operationName = params.get('operationName') ?? undefined;
  const variablesText = params.get('variables');
  let variables: Record<string, unknown> | undefined;
  if (variablesText !== null && variablesText !== '') {
    const parsed = parseJson(variablesText);
    if (!isObject(parsed)) return bad('variables is not a JSON object');
    variables = parsed;
  }
  return { ok: true, operations: [{ query, operationName: operationName === '' ? undefined : operationName, variables }], batch: false };
}

/** `application/json` (any charset parameter; utf-8 assumed). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

export function parsePostRequest(contentType: string | undefined, body: Buffer): ParsedRequest {
  if (!isJsonMediaType(contentType)) return bad(`content-type ${JSON.stringify(contentType ?? '')} is not application/json`, RejectCode.UNSUPPORTED_MEDIA_TYPE);
  const parsed = parseJson(body.toString('utf8'));
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) return bad('empty batch');
    const operations: OperationRequest[] = [];
    for (const item of parsed) {
      const op = operationOf(item);
      if (typeof op === 'string') return bad(`batch entry: ${op}`);
      operations.push(op);
    }
    return { ok: true, operations, batch: true };
  }
  const op = operationOf(parsed);
  return typeof op === 'string' ? bad(op) : { ok: true, operations: [op], batch: false };
}

export function methodNotAllowed(): ParsedRequest {
  return NOT_ALLOWED;
}

/** One request object; a string = what is wrong with it. */
function operationOf(value: unknown): OperationRequest | string {
  if (!isObject(value)) return 'the body is not a JSON object';
  const { query, operationName, variables } = value;
  if (typeof query !== 'string' || query === '') return 'no query string';
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return 'operationName is not a string';
  if (variables !== undefined && variables !== null && !isObject(variables)) return 'variables is not an object';
  return {
    query,
    operationName: typeof operationName === 'string' && operationName !== '' ? operationName : undefined,
    variables: isObject(variables) ? variables : undefined,
  };
}

const NOT_JSON = Symbol('not json');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
