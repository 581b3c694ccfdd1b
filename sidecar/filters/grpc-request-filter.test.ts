import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Call } from '../pipeline/call.js';
import { headersOf } from '../pipeline/call.test-helper.js';
import { grpcRequestFilter, headerListSize } from './grpc-request-filter.js';

const filter = grpcRequestFilter({ maxTimeoutMs: 5000, maxHeaderListBytes: 1024 });

/** A call as the pipeline builds it, for the fields this filter reads. */
function ctx(headers: Record<string, string>): Call {
  return { headers: headersOf(headers), httpMethod: headers[':method'], path: headers[':path'] ?? '', method: undefined, timeoutMs: 0 } as unknown as Call;
}

const good = { ':method': 'POST', ':path': '/a.B/C', 'content-type': 'application/grpc' };

test('a well-formed call continues with its method and a capped deadline', () => {
  const c = ctx({ ...good, 'grpc-timeout': '10S' });
  assert.equal(filter.apply(c), undefined);
  assert.equal(c.method?.fullName, 'a.B/C');
  assert.equal(c.timeoutMs, 5000, 'capped by maxTimeout');
  const d = ctx({ ...good, 'grpc-timeout': '250m' });
  filter.apply(d);
  assert.equal(d.timeoutMs, 250);
  const none = ctx(good);
  filter.apply(none);
  assert.equal(none.timeoutMs, 5000, 'no grpc-timeout: the cap is the deadline');
});

test('refusals carry stable codes', () => {
  assert.equal((filter.apply(ctx({ ...good, ':path': '/a.B/../C' })) as { code: string }).code, 'MALFORMED_PATH');
  assert.equal((filter.apply(ctx({ ...good, ':method': 'GET' })) as { code: string }).code, 'UNSUPPORTED_MEDIA_TYPE');
  assert.equal((filter.apply(ctx({ ...good, 'content-type': 'application/json' })) as { code: string }).code, 'UNSUPPORTED_MEDIA_TYPE');
  assert.equal((filter.apply(ctx({ ...good, 'x-big': 'a'.repeat(1000) })) as { code: string }).code, 'HEADERS_TOO_LARGE');
});

test('header list size counts name + value + 32 per field', () => {
  assert.equal(headerListSize(['a', 'bb', 'ccc', '']), 1 + 2 + 3 + 0 + 64);
  assert.equal(headerListSize([]), 0);
});
