// The demo GraphQL app answers bad requests with 400 and keeps running (it serves the demo
// and the integration tests, so a crash there would hide meshward's behaviour).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGraphqlApp, type GraphqlApp } from './graphql-app.js';

let app: GraphqlApp;
before(async () => {
  app = await startGraphqlApp();
});
after(() => app.close());

async function post(body: string): Promise<{ status: number; json: { data?: unknown; errors?: { message: string }[] } }> {
  const r = await fetch(`http://127.0.0.1:${app.port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: r.status, json: (await r.json()) as { errors?: { message: string }[] } };
}

test('variables that are not an object, a query that is not a string, a body that is not JSON: 400, and the app keeps serving', async () => {
  const cases: [string, RegExp][] = [
    [JSON.stringify({ query: '{ __typename }', variables: 'x' }), /variables must be an object/],
    [JSON.stringify({ query: '{ __typename }', variables: [1] }), /variables must be an object/],
    [JSON.stringify({ query: 42 }), /query must be a string/],
    [JSON.stringify({ query: '{ __typename }', operationName: 7 }), /operationName must be a string/],
    [JSON.stringify([{ query: '{ __typename }' }, 'x']), /must be a JSON object/],
    ['{not json', /not a GraphQL request/],
  ];
  for (const [body, message] of cases) {
    const r = await post(body);
    assert.equal(r.status, 400, body);
    assert.match(r.json.errors?.[0]?.message ?? '', message, body);
  }
  const bad = await fetch(`http://127.0.0.1:${app.port}/graphql?query=${encodeURIComponent('{ __typename }')}&variables=%7Bbroken`);
  assert.equal(bad.status, 400);
  const ok = await post(JSON.stringify({ query: '{ __typename }' }));
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, { data: { __typename: 'Query' } });
});
