import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminTarget, CliUsageError, SseParser } from './admin-client.js';

test('SSE: events split across chunks, CRLF, comments, multi-line data, named events', () => {
  const seen: Array<[string, string]> = [];
  const p = new SseParser({ onEvent: (e, d) => seen.push([e, d]) });
  p.push(': ping\n\nretry: 2000\nevent: subscribed\ndata: {"a"');
  p.push(':1}\n\ndata: one\r\ndata:two\r\n\r\n');
  p.push('event: dropped\ndata: {"dropped":3}\n');
  assert.equal(seen.length, 2);
  p.push('\n');
  assert.deepEqual(seen, [
    ['subscribed', '{"a":1}'],
    ['message', 'one\ntwo'],
    ['dropped', '{"dropped":3}'],
  ]);
});

test('--admin URL forms and TLS flags', () => {
  assert.equal(adminTarget({ admin: '127.0.0.1:7000' }).url.href, 'http://127.0.0.1:7000/');
  assert.equal(adminTarget({ admin: 'http://[::1]:7000' }).tls, undefined);
  assert.throws(() => adminTarget({}), CliUsageError);
  assert.throws(() => adminTarget({ admin: 'ftp://x' }), /expected http:\/\/ or https:\/\//);
  assert.throws(() => adminTarget({ admin: 'http://x:1', ca: 'ca.crt' }), /need an https:\/\//);
  assert.throws(() => adminTarget({ admin: 'https://x:1', cert: 'c' }), /--cert and --key go together/);
  assert.throws(() => adminTarget({ admin: 'https://x:1', ca: '/nonexistent/ca.crt' }), /--ca \/nonexistent\/ca\.crt: ENOENT/);
});
