import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { repoRoot } from '../../demo/repo-root.js';
import { encodeStatusDetails, QUOTA_FAILURE_TYPE, RETRY_INFO_TYPE, statusDetailsHeader } from './status-details.js';

// An independent decoder: protobufjs reading the .proto files meshward ships.
const root = protobuf.loadSync([join(repoRoot, 'proto/google/rpc/status.proto'), join(repoRoot, 'proto/google/rpc/error_details.proto')]);
const Status = root.lookupType('google.rpc.Status');
const RetryInfo = root.lookupType('google.rpc.RetryInfo');
const QuotaFailure = root.lookupType('google.rpc.QuotaFailure');

type Decoded = { code: number; message: string; details: Array<{ type_url?: string; typeUrl?: string; value: Uint8Array }> };

function decode(buf: Buffer): Decoded {
  return Status.toObject(Status.decode(buf), { defaults: true }) as unknown as Decoded;
}

test('Status with RetryInfo and QuotaFailure decodes with protobufjs', () => {
  const buf = encodeStatusDetails({
    code: 8,
    message: 'rate limit exceeded',
    retryDelayMs: 1500,
    violations: [{ subject: 'principal', description: 'rate limit: 100 requests per 1s (burst 20)' }],
  });
  const s = decode(buf);
  assert.equal(s.code, 8);
  assert.equal(s.message, 'rate limit exceeded');
  assert.equal(s.details.length, 2);
  const [retry, quota] = s.details;
  assert.equal(retry!.typeUrl ?? retry!.type_url, RETRY_INFO_TYPE);
  const r = RetryInfo.toObject(RetryInfo.decode(retry!.value), { defaults: true, longs: Number }) as { retryDelay: { seconds: number; nanos: number } };
  assert.deepEqual(r.retryDelay, { seconds: 1, nanos: 500_000_000 });
  assert.equal(quota!.typeUrl ?? quota!.type_url, QUOTA_FAILURE_TYPE);
  const q = QuotaFailure.toObject(QuotaFailure.decode(quota!.value)) as { violations: Array<{ subject: string; description: string }> };
  assert.deepEqual(q.violations, [{ subject: 'principal', description: 'rate limit: 100 requests per 1s (burst 20)' }]);
});

test('sub-millisecond delays round up; whole seconds have no nanos; long strings use multi-byte lengths', () => {
  const long = 'x'.repeat(300);
  const s = decode(encodeStatusDetails({ code: 8, message: long, retryDelayMs: 0.2 }));
  assert.equal(s.message, long);
  const r = RetryInfo.toObject(RetryInfo.decode(s.details[0]!.value), { defaults: true, longs: Number }) as { retryDelay: { seconds: number; nanos: number } };
  assert.deepEqual(r.retryDelay, { seconds: 0, nanos: 1_000_000 });
  const s2 = decode(encodeStatusDetails({ code: 8, message: 'm', retryDelayMs: 120_000 }));
  const r2 = RetryInfo.toObject(RetryInfo.decode(s2.details[0]!.value), { defaults: true, longs: Number }) as { retryDelay: { seconds: number; nanos: number } };
  assert.deepEqual(r2.retryDelay, { seconds: 120, nanos: 0 });
});

test('without details only code and message are sent; the header is base64 of the bytes', () => {
  const d = { code: 14, message: 'unavailable' };
  assert.deepEqual(decode(encodeStatusDetails(d)).details, []);
  assert.equal(statusDetailsHeader(d), encodeStatusDetails(d).toString('base64'));
  // Protobuf's own encoder produces the same bytes for the same message.
  assert.deepEqual(Buffer.from(Status.encode(Status.fromObject(d)).finish()), encodeStatusDetails(d));
});
