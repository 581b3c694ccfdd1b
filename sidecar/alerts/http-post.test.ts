// The headers of a receiver: read at startup (a bad file is a ConfigError naming file and line,
// never a value), re-read when the file changes, the last good ones kept when it turns bad.

import assert from 'node:assert/strict';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../config/load.js';
import { HeadersSource } from './http-post.js';

const dir = mkdtempSync(join(tmpdir(), 'meshward-headers-'));

test('a bad headers file at startup is a ConfigError naming the key, file and line, not the value', () => {
  const file = join(dir, 'bad');
  writeFileSync(file, 'Authorization: Bearer s3cret\nX-Bad s3cret-too\n');
  assert.throws(
    () => new HeadersSource(file, 'alerts.webhook.headersFile'),
    (err: unknown) => err instanceof ConfigError && /^alerts\.webhook\.headersFile: .*bad:2: expected "Name: value"$/.test(err.message) && !err.message.includes('s3cret'),
  );
  assert.throws(() => new HeadersSource(join(dir, 'missing'), 'k'), /k: .*missing: cannot read: ENOENT/);
});

test('a changed file is read again; a file that turns bad keeps the last good headers', () => {
  const file = join(dir, 'good');
  writeFileSync(file, 'Authorization: Bearer one\n');
  const h = new HeadersSource(file, 'k');
  assert.deepEqual(h.current(), { authorization: 'Bearer one' });
  writeFileSync(file, 'Authorization: Bearer two\nX-Org: a\n');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  assert.deepEqual(h.current(), { authorization: 'Bearer two', 'x-org': 'a' });
  writeFileSync(file, 'garbage\n');
  utimesSync(file, new Date(), new Date(Date.now() + 10_000));
  assert.deepEqual(h.current(), { authorization: 'Bearer two', 'x-org': 'a' });
});
