// Table tests for parseSpiffeId against the SPIFFE ID spec.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SPIFFE_ID_LENGTH, parseSpiffeId } from './spiffe.js';

const valid: Array<[uri: string, trustDomain: string, path: string]> = [
  ['spiffe://cluster.local', 'cluster.local', ''],
  ['spiffe://cluster.local/ns/shop/sa/orders', 'cluster.local', '/ns/shop/sa/orders'],
  ['spiffe://a-b_c.9/x', 'a-b_c.9', '/x'],
  ['spiffe://td/Mixed.Case-OK_1/...dots/.hidden', 'td', '/Mixed.Case-OK_1/...dots/.hidden'],
  ['spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453', 'example.com', '/9eebccd2-12bf-40a6-b262-65fe0487d453'],
  [`spiffe://td/${'a'.repeat(MAX_SPIFFE_ID_LENGTH - 'spiffe://td/'.length)}`, 'td', `/${'a'.repeat(MAX_SPIFFE_ID_LENGTH - 12)}`],
];

const invalid: Array<[name: string, uri: string, errorPart: RegExp]> = [
  ['empty', '', /empty/],
  ['wrong scheme', 'https://cluster.local/ns/a', /scheme/],
  ['uppercase scheme', 'SPIFFE://cluster.local/ns/a', /scheme/],
  ['missing slashes', 'spiffe:cluster.local/ns/a', /scheme/],
  ['leading space', ' spiffe://cluster.local/ns/a', /scheme/],
  ['no trust domain', 'spiffe:///ns/a', /trust domain is missing/],
  ['only scheme', 'spiffe://', /trust domain is missing/],
  ['uppercase trust domain', 'spiffe://Cluster.local/ns/a', /trust domain characters/],
  ['port', 'spiffe://cluster.local:8443/ns/a', /port/],
  ['empty port', 'spiffe://cluster.local:/ns/a', /port/],
  ['userinfo', 'spiffe://user@cluster.local/ns/a', /userinfo/],
  ['query', 'spiffe://cluster.local/ns/a?x=1', /query/],
  ['empty query', 'spiffe://cluster.local/ns/a?', /query/],
  ['fragment', 'spiffe://cluster.local/ns/a#frag', /fragment/],
  ['percent-encoded slash', 'spiffe://cluster.local/ns%2Fa', /percent/],
  ['percent-encoded trust domain', 'spiffe://clu%73ter.local/ns/a', /percent/],
  ['dot-dot segment', 'spiffe://cluster.local/ns/../a', /"\.\."/],
  ['dot segment', 'spiffe://cluster.local/./a', /"\."/],
  ['empty segment', 'spiffe://cluster.local/ns//a', /empty segments/],
  ['trailing slash', 'spiffe://cluster.local/ns/a/', /trailing slash/],
  ['trailing slash after trust domain', 'spiffe://cluster.local/', /trailing slash/],
  ['space in path', 'spiffe://cluster.local/ns/a b', /path segment characters/],
  ['comma in path', 'spiffe://cluster.local/ns/a,b', /path segment characters/],
  ['non-ASCII path', 'spiffe://cluster.local/ns/é', /path segment characters/],
  ['non-ASCII trust domain', 'spiffe://clüster.local/ns/a', /trust domain characters/],
  ['IPv6 literal', 'spiffe://[::1]/ns/a', /port|trust domain characters/],
  ['backslash', 'spiffe://cluster.local\\ns\\a', /trust domain characters/],
  ['too long', `spiffe://td/${'a'.repeat(MAX_SPIFFE_ID_LENGTH)}`, /longer than 2048/],
  ['trust domain too long', `spiffe://${'a'.repeat(256)}/x`, /trust domain is longer/],
];

test('valid SPIFFE IDs parse into trust domain and path', () => {
  for (const [uri, trustDomain, path] of valid) {
    const r = parseSpiffeId(uri);
    assert.ok(r.ok, `${uri.slice(0, 60)} should be valid, got ${r.ok ? '' : r.error}`);
    assert.deepEqual({ ...r.id }, { uri, trustDomain, path });
    assert.ok(Object.isFrozen(r.id));
  }
});

test('invalid SPIFFE IDs are rejected with a reason', () => {
  for (const [name, uri, errorPart] of invalid) {
    const r = parseSpiffeId(uri);
    assert.equal(r.ok, false, `${name}: ${uri.slice(0, 60)} should be invalid`);
    if (!r.ok) assert.match(r.error, errorPart, name);
  }
});

test('never throws on non-string input', () => {
  for (const input of [undefined, null, 42, {}, ['spiffe://td/a']]) {
    const r = parseSpiffeId(input as unknown as string);
    assert.equal(r.ok, false);
  }
});
