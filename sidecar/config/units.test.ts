// Table tests for the unit parsers (durations, byte sizes) and host:port parsing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostPort } from './fields.js';
import { formatDuration, parseByteSize, parseDuration } from './units.js';

test('parseDuration accepts h, m, s, ms parts, largest first', () => {
  const valid: [string, number][] = [
    ['250ms', 250],
    ['5s', 5_000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['0s', 0],
    ['90s', 90_000],
    ['1s500ms', 1_500],
  ];
  for (const [text, ms] of valid) assert.equal(parseDuration(text), ms, text);
});

test('formatDuration writes what parseDuration reads, largest units first', () => {
  const cases: [number, string][] = [[0, '0s'], [250, '250ms'], [1_000, '1s'], [1_500, '1s500ms'], [60_000, '1m'], [90_000, '1m30s'], [300_000, '5m'], [3_723_004, '1h2m3s4ms']];
  for (const [ms, text] of cases) {
    assert.equal(formatDuration(ms), text);
    assert.equal(parseDuration(text), ms);
  }
  assert.equal(formatDuration(30 * 86_400_000, { days: true }), '30d');
  assert.equal(formatDuration(86_400_000 + 12 * 3_600_000, { days: true }), '1d12h');
  assert.equal(formatDuration(3_600_000, { days: true }), '1h');
});

test('parseDuration refuses bare numbers, fractions, bad order and unknown units', () => {
  const invalid = ['', '5', '0', '1.5s', '-1s', '+1s', '1s1m', '1s1s', '1ms1s', ' 5s', '5s ', '5 s', '5S', '1d', '1us', 'ms', 's', '1m30', '1h30', '9999999999999999999h'];
  for (const text of invalid) assert.equal(parseDuration(text), undefined, JSON.stringify(text));
});

test('parseByteSize accepts integers and Ki/Mi/Gi (binary) suffixes', () => {
  const valid: [string | number, number][] = [
    [0, 0],
    [65536, 65536],
    ['65536', 65536],
    ['64Ki', 65536],
    ['64KiB', 65536],
    ['4Mi', 4 * 1024 * 1024],
    ['4MiB', 4 * 1024 * 1024],
    ['1Gi', 1024 ** 3],
  ];
  for (const [v, bytes] of valid) assert.equal(parseByteSize(v), bytes, String(v));
});

test('parseByteSize refuses negatives, fractions and decimal suffixes', () => {
  const invalid: (string | number)[] = [-1, 1.5, Number.NaN, Infinity, 2 ** 53, '', '-1', '1.5Ki', '1MB', '1KB', '1k', '1K', '1M', '1B', '1 Ki', ' 1', '1e3', '0x10', '9999999999Gi'];
  for (const v of invalid) assert.equal(parseByteSize(v), undefined, JSON.stringify(v));
});

test('parseHostPort parses IPv4, DNS names and bracketed IPv6', () => {
  assert.deepEqual(parseHostPort('0.0.0.0:7443'), { host: '0.0.0.0', port: 7443 });
  assert.deepEqual(parseHostPort('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseHostPort('[::1]:8080'), { host: '::1', port: 8080 });
  assert.deepEqual(parseHostPort('orders.shop.svc:65535'), { host: 'orders.shop.svc', port: 65535 });
  assert.deepEqual(parseHostPort('localhost:1'), { host: 'localhost', port: 1 });
  const invalid = ['', '7443', ':7443', '127.0.0.1', '127.0.0.1:', '127.0.0.1:65536', '127.0.0.1:-1', '::1:80', '[::1]', '[zz]:80', '999.0.0.1:80', 'a b:80', '-x:80', 'host:80:90', 'http://x:80'];
  for (const s of invalid) assert.equal(parseHostPort(s), undefined, JSON.stringify(s));
});
