// The generated config reference is current: a new or changed key shows in the JSON Schema and
// the docs table (regenerate with `npm run docs:config`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configurationReferenceMarkdown, sidecarJsonSchemaText } from './reference.js';

const docs = (p: string) => fileURLToPath(new URL(`../../docs/${p}`, import.meta.url));

test('docs/schema/sidecar.schema.json and docs/configuration.md are current (npm run docs:config)', () => {
  assert.equal(readFileSync(docs('schema/sidecar.schema.json'), 'utf8'), sidecarJsonSchemaText());
  assert.equal(readFileSync(docs('configuration.md'), 'utf8'), configurationReferenceMarkdown());
});

test('every key of the schema has a row, with its default and a meaning', () => {
  const md = configurationReferenceMarkdown();
  for (const key of ['identity.trustDomain', 'inbound.limits.idleTimeout', 'outbound.routes[].identity', 'jwt.providers[].algorithms', 'rateLimit.redis.failMode', 'shutdown.drainTimeout']) {
    const line = md.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
    assert.ok(line !== undefined, key);
    assert.doesNotMatch(line, /\| *\|$/, `${key} has a meaning`);
  }
  assert.match(md, /^\| `inbound\.limits\.idleTimeout` \| duration \| `5m` \| /m);
  assert.match(md, /^\| `inbound\.mtls` \| `strict` \\\| `permissive` \| `strict` \| /m);
});
