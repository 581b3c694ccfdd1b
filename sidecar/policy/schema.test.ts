// The policy schema's generated JSON Schema is checked in and current; the pattern
// languages accept exactly the documented forms.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { hasSpaceItem } from './claims.js';
import { parseClaimPath, parseLimitKey, parseMethodPattern, parsePrincipalPattern, METHOD_PATTERN_REGEX, PRINCIPAL_PATTERN_REGEX } from './patterns.js';
import { policyJsonSchema, policyJsonSchemaText } from './schema.js';

test('policies/schema/policy.schema.json is current (regenerate: node --import tsx scripts/gen-policy-schema.ts)', () => {
  const file = new URL('../../policies/schema/policy.schema.json', import.meta.url);
  assert.equal(readFileSync(file, 'utf8'), policyJsonSchemaText());
});

test('the JSON Schema is draft-07, closed, and describes input (durations as strings)', () => {
  const schema = policyJsonSchema() as { $schema: string; additionalProperties: boolean; required: string[] };
  assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ['apiVersion', 'kind', 'metadata', 'spec']);
  const text = JSON.stringify(schema);
  assert.match(text, /"timeout":\{[^}]*"type":"string"/);
});

test('method patterns: exact, Service/*, Service/Prefix*, *; anything else explains itself', () => {
  const ok: [string, string][] = [
    ['shop.v1.Orders/GetOrder', 'exact'],
    ['shop.v1.Orders/*', 'service'],
    ['shop.v1.Orders/List*', 'prefix'],
    ['Greeter/SayHello', 'exact'],
    ['*', 'any'],
  ];
  const regex = new RegExp(METHOD_PATTERN_REGEX);
  for (const [text, kind] of ok) {
    const parsed = parseMethodPattern(text);
    assert.ok(parsed.ok && parsed.value.kind === kind, text);
    assert.ok(regex.test(text), `JSON Schema pattern accepts ${text}`);
  }
  const bad: [string, RegExp][] = [
    ['/shop.v1.Orders/GetOrder', /no leading "\/"/],
    ['shop.v1.Orders', /missing "\/"/],
    ['shop.v1.Orders/Get/X', /more than one "\/"/],
    ['shop.*/Get', /only at the end of the method name/],
    ['shop.v1.Orders/*Order', /only at the end of the method name/],
    ['shop.v1.Orders/Get**', /only at the end/],
    ['shop..Orders/Get', /not a service name/],
    ['shop.v1.Orders/', /not a method name/],
    ['shop.v1.Orders/Get-Order', /not a method name/],
    ['**', /missing "\/"/],
    ['', /missing "\/"/],
  ];
  for (const [text, why] of bad) {
    const parsed = parseMethodPattern(text);
    assert.ok(!parsed.ok, text);
    assert.match(parsed.error, why, text);
    assert.ok(!regex.test(text), `JSON Schema pattern refuses ${text}`);
  }
});

test('principal patterns: exact SPIFFE ID, prefix ending in /*, *', () => {
  const regex = new RegExp(PRINCIPAL_PATTERN_REGEX);
  assert.deepEqual(parsePrincipalPattern('*'), { ok: true, value: { kind: 'any' } });
  assert.deepEqual(parsePrincipalPattern('spiffe://td/ns/a/sa/b'), { ok: true, value: { kind: 'exact', id: 'spiffe://td/ns/a/sa/b' } });
  assert.deepEqual(parsePrincipalPattern('spiffe://td/ns/a/*'), { ok: true, value: { kind: 'prefix', prefix: 'spiffe://td/ns/a/' } });
  assert.deepEqual(parsePrincipalPattern('spiffe://td/*'), { ok: true, value: { kind: 'prefix', prefix: 'spiffe://td/' } });
  for (const text of ['*', 'spiffe://td/ns/a/sa/b', 'spiffe://td/ns/a/*', 'spiffe://td/*']) assert.ok(regex.test(text), text);
  const bad: [string, RegExp][] = [
    ['spiffe://td', /trust domain alone/],
    ['spiffe://td/ns/*/sa/b', /last path segment/],
    ['spiffe://td/ns/a*', /last path segment/],
    ['spiffe://TD/x', /trust domain characters/],
    ['spiffe://td/ns/../x/*', /"\." or "\.\."/],
    ['https://td/x', /scheme/],
    ['spiffe://td/x/', /trailing slash/],
    ['**', /last path segment/],
  ];
  for (const [text, why] of bad) {
    const parsed = parsePrincipalPattern(text);
    assert.ok(!parsed.ok, text);
    assert.match(parsed.error, why, text);
  }
});

test('claim paths and limit keys', () => {
  assert.deepEqual(parseClaimPath('realm_access.roles'), { ok: true, value: ['realm_access', 'roles'] });
  for (const bad of ['', '.a', 'a.', 'a..b']) assert.equal(parseClaimPath(bad).ok, false, bad);
  assert.deepEqual(parseLimitKey('jwt:org.id'), { ok: true, value: { kind: 'jwt', claim: 'org.id', path: ['org', 'id'] } });
  assert.deepEqual(parseLimitKey('global'), { ok: true, value: { kind: 'global' } });
  for (const bad of ['jwt:', 'jwt:a..b', 'user', '']) assert.equal(parseLimitKey(bad).ok, false, bad);
});

test('hasSpaceItem matches whole space-separated items only', () => {
  assert.ok(hasSpaceItem('a b c', 'b'));
  assert.ok(hasSpaceItem('a b c', 'a') && hasSpaceItem('a b c', 'c'));
  assert.ok(hasSpaceItem('ab b', 'b'));
  assert.ok(!hasSpaceItem('ab bc', 'b'));
  assert.ok(!hasSpaceItem('', 'b'));
  assert.ok(!hasSpaceItem('a b', ''));
  assert.ok(!hasSpaceItem('a,b', 'b'));
});
