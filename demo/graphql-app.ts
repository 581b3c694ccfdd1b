// The demo GraphQL "application": a graphql-js server over HTTP/1.1 (keep-alive) serving
// demo/shop.graphql, which records every document it receives so tests can see what got
// past the sidecar. Test/demo code, not part of the sidecar.

import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, graphql, type GraphQLSchema } from 'graphql';

const here = dirname(fileURLToPath(import.meta.url));
/** The schema file in the repository's demo/ folder (whether this runs from demo/ or dist/demo/). */
export const SHOP_SCHEMA_FILE = join(here, basename(dirname(here)) === 'dist' ? join('..', '..') : '..', 'demo', 'shop.graphql');

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The request body as received ('' for GET). */
  readonly body: string;
  /** Every `query` the request carried (a batch carries several). */
  readonly documents: readonly string[];
}

export interface GraphqlApp {
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Every document received, in order. */
  documents(): string[];
  close(): Promise<void>;
}

interface UserRow {
  id: string;
  name: string;
  email: string;
}

const USERS: UserRow[] = [
  { id: 'u1', name: 'Ada', email: 'ada@example.com' },
  { id: 'u2', name: 'Grace', email: 'grace@example.com' },
  { id: 'u3', name: 'Edsger', email: 'edsger@example.com' },
];

function user(row: UserRow): Record<string, unknown> {
  return {
    __typename: 'User',
    ...row,
    friends: ({ first }: { first?: number }) => USERS.filter((u) => u.id !== row.id).slice(0, first ?? 10).map(user),
    orders: () => [order(`o-${row.id}`, row)],
  };
}

function order(id: string, owner: UserRow): Record<string, unknown> {
  return { __typename: 'Order', id, item: 'book', total: 12.5, owner: () => user(owner) };
}

function rootValue(): Record<string, unknown> {
  const find = (id: string): UserRow | undefined => USERS.find((u) => u.id === id);
  return {
    me: () => user(USERS[0]!),
    user: ({ id }: { id: string }) => (find(id) === undefined ? null : user(find(id)!)),
    users: ({ first, last }: { first?: number; last?: number }) => (last !== undefined ? USERS.slice(-last) : USERS.slice(0, first ?? 10)).map(user),
    node: ({ id }: { id: string }) => (find(id) === undefined ? null : user(find(id)!)),
    account: ({ id }: { id: string }) => (find(id) === undefined ? null : user(find(id)!)),
    search: () => [user(USERS[1]!), order('o-9', USERS[2]!)],
    orders: ({ first }: { first?: number }) => USERS.slice(0, first ?? 10).map((u) => order(`o-${u.id}`, u)),
    report: () => ({ revenue: 1234.5 }),
    placeOrder: ({ item }: { item: string }) => ({ ...order('o-new', USERS[0]!), item }),
    deleteOrder: () => true,
  };
}

/** Resolves abstract types from the `__typename` the resolvers set. */
function withTypeResolvers(schema: GraphQLSchema): GraphQLSchema {
  for (const name of ['Node', 'Account', 'SearchResult']) {
    const type = schema.getType(name) as { resolveType?: (v: { __typename: string }) => string };
    type.resolveType = (v) => v.__typename;
  }
  return schema;
}

/** Why `r` is not a GraphQL request (query a string; variables an object; operationName a string), or undefined. */
function requestProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'a request must be a JSON object';
  const { query, variables, operationName } = r as Record<string, unknown>;
  if (typeof query !== 'string') return 'query must be a string';
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return 'variables must be an object';
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return 'operationName must be a string';
  return undefined;
}

async function execute(schema: GraphQLSchema, request: Record<string, unknown>): Promise<unknown> {
  return graphql({
    schema,
    source: String(request.query ?? ''),
    rootValue: rootValue(),
    variableValues: (request.variables as Record<string, unknown> | undefined) ?? undefined,
    operationName: (request.operationName as string | undefined) ?? undefined,
  });
}

export async function startGraphqlApp(port = 0, host = '127.0.0.1'): Promise<GraphqlApp> {
  const schema = withTypeResolvers(buildSchema(readFileSync(SHOP_SCHEMA_FILE, 'utf8')));
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      serve(req, body).then(
        ({ status, out }) => {
          res.writeHead(status, { 'content-type': 'application/json', 'x-app': 'shop' });
          res.end(out);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ message: `internal error: ${String(err)}` }] }));
        },
      );
    });
  });

  /** One request: recorded, checked (a GraphQL-over-HTTP request, else 400), executed. */
  async function serve(req: http.IncomingMessage, body: string): Promise<{ status: number; out: string }> {
    let payload: unknown;
    try {
      if (req.method === 'GET') {
        const params = new URL(req.url ?? '/', 'http://app').searchParams;
        const variables = params.get('variables');
        payload = { query: params.get('query'), operationName: params.get('operationName'), variables: variables ? JSON.parse(variables) : undefined };
      } else {
        payload = JSON.parse(body);
      }
    } catch {
      payload = undefined;
    }
    const list = Array.isArray(payload) ? (payload as unknown[]) : payload === undefined ? [] : [payload];
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, documents: list.map((r) => String((r as Record<string, unknown> | null)?.query ?? '')) });
    const problem = list.length === 0 ? 'the body is not a GraphQL request' : list.map(requestProblem).find((p) => p !== undefined);
    if (problem !== undefined) return { status: 400, out: JSON.stringify({ errors: [{ message: problem }] }) };
    const results = await Promise.all(list.map((r) => execute(schema, r as Record<string, unknown>)));
    return { status: 200, out: JSON.stringify(Array.isArray(payload) ? results : results[0]) };
  }
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    documents: () => requests.flatMap((r) => r.documents),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
