// GraphQL-over-HTTP request reading: GET parameters, POST JSON, batches, and the refusals
// for everything else (400 / 405 / 415), without looking at the document.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGetRequest, parsePostRequest, targetPath } from './graphql-request.js';

const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

test('GET: query, operationName and variables from the query string', () => {
  const r = parseGetRequest(`/graphql?query=${encodeURIComponent('{ me { id } }')}&operationName=Q&variables=${encodeURIComponent('{"n":1}')}`);
  assert.deepEqual(r, { ok: true, operations: [{ query: '{ me { id } }', operationName: 'Q', variables: { n: 1 } }], batch: false });
  assert.equal(targetPath('/graphql?query=x'), '/graphql');
  for (const bad of ['/graphql', '/graphql?query=', `/graphql?query=x&variables=${encodeURIComponent('[1]')}`, '/graphql?query=x&variables=%7B']) {
    const refused = parseGetRequest(bad);
    assert.equal(refused.ok, false, bad);
    if (!refused.ok) assert.equal(refused.rejection.code, 'BAD_REQUEST');
  }
});

test('POST: application/json only (415 otherwise), one request or a batch', () => {
  assert.deepEqual(parsePostRequest('application/json; charset=utf-8', body({ query: '{ a }', operationName: null, variables: null })), {
    ok: true,
    operations: [{ query: '{ a }', operationName: undefined, variables: undefined }],
    batch: false,
  });
  const batch = parsePostRequest('application/json', body([{ query: '{ a }' }, { query: '{ b }', variables: { x: 1 } }]));
  assert.ok(batch.ok);
  assert.equal(batch.batch, true);
  assert.deepEqual(batch.operations.map((o) => o.query), ['{ a }', '{ b }']);
  const typeRefused = parsePostRequest('text/plain', body({ query: '{ a }' }));
  assert.ok(!typeRefused.ok && typeRefused.rejection.code === 'UNSUPPORTED_MEDIA_TYPE');
  assert.ok(!parsePostRequest(undefined, body({ query: '{ a }' })).ok);
});

test('POST: what is not a GraphQL request is 400', () => {
  for (const bad of ['{"query": ', '"{ a }"', '[]', '[{"query":"{ a }"}, 3]', '{"query": 1}', '{"query":"{ a }","operationName":2}', '{"query":"{ a }","variables":[1]}', '{}']) {
    const r = parsePostRequest('application/json', body(bad));
    assert.ok(!r.ok, bad);
    if (!r.ok) assert.equal(r.rejection.code, 'BAD_REQUEST', bad);
  }
});
