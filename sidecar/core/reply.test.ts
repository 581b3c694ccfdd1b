// meshward's GraphQL error replies: the code's status, a stable extensions.code, the
// media type the caller accepts, and the headers HTTP asks for (Retry-After, WWW-Authenticate, Allow).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RejectCode } from './codes.js';
import { GRAPHQL_RESPONSE_TYPE, graphqlReply } from './reply.js';

test('a refusal becomes a GraphQL response with one error and a generic message', () => {
  const r = graphqlReply({ code: RejectCode.PERMISSION_DENIED, reason: 'default_deny', rule: 'shop:graphql[0]', detail: 'peer spiffe://x matched nothing' }, undefined);
  assert.equal(r.status, 403);
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.deepEqual(JSON.parse(r.body), { errors: [{ message: 'permission denied', extensions: { code: 'FORBIDDEN' } }] });
  assert.ok(!r.body.includes('shop:graphql') && !r.body.includes('spiffe'), 'rule and detail stay out of the reply');
});

test('extensions and message of the rejection win; the GraphQL media type when accepted', () => {
  const r = graphqlReply(
    { code: RejectCode.GRAPHQL_LIMIT, reason: 'graphql_depth_limit', graphqlMessage: 'Operation exceeds the depth limit.', graphqlExtensions: { code: 'MAX_DEPTH_LIMIT', limit: 8, actual: 9 } },
    `${GRAPHQL_RESPONSE_TYPE}, application/json;q=0.9`,
  );
  assert.equal(r.status, 400);
  assert.equal(r.headers['content-type'], `${GRAPHQL_RESPONSE_TYPE}; charset=utf-8`);
  assert.deepEqual(JSON.parse(r.body).errors[0].extensions, { code: 'MAX_DEPTH_LIMIT', limit: 8, actual: 9 });
});

test('a refused document: 400 with the GraphQL response type, 200 with errors under application/json (GraphQL over HTTP)', () => {
  for (const code of [RejectCode.GRAPHQL_INVALID, RejectCode.GRAPHQL_VALIDATION, RejectCode.GRAPHQL_LIMIT]) {
    assert.equal(graphqlReply({ code, reason: 'x' }, GRAPHQL_RESPONSE_TYPE).status, 400, code);
    for (const accept of ['application/json', '*/*', undefined]) {
      const r = graphqlReply({ code, reason: 'x' }, accept);
      assert.equal(r.status, 200, `${code} ${accept}`);
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    }
  }
  // A request that is not a GraphQL request, and refusals that are not about the document, keep their status.
  assert.equal(graphqlReply({ code: RejectCode.BAD_REQUEST, reason: 'x' }, 'application/json').status, 400);
  assert.equal(graphqlReply({ code: RejectCode.PERMISSION_DENIED, reason: 'x' }, 'application/json').status, 403);
});

test('429 carries Retry-After in whole seconds, 401 WWW-Authenticate, 405 Allow', () => {
  assert.equal(graphqlReply({ code: RejectCode.RATE_LIMITED, reason: 'rate_limited', retryAfterMs: 1500 }, undefined).headers['retry-after'], '2');
  assert.equal(graphqlReply({ code: RejectCode.RATE_LIMITED, reason: 'rate_limited', retryAfterMs: 20 }, undefined).headers['retry-after'], '1');
  assert.equal(graphqlReply({ code: RejectCode.UNAUTHENTICATED, reason: 'jwt_missing' }, undefined).headers['www-authenticate'], 'Bearer');
  assert.equal(graphqlReply({ code: RejectCode.METHOD_NOT_ALLOWED, reason: 'x' }, undefined).headers.allow, 'GET, POST');
});
