// The schema store: an invalid file stops startup; a valid change is picked up by the
// folder watch; an invalid change keeps the previous schema and is reported.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SchemaLoadError, SchemaStore } from './schema-store.js';

const dir = mkdtempSync(join(tmpdir(), 'meshward-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const V1 = 'type Query { me: User }\ntype User { id: ID! }\n';
const V2 = 'type Query { me: User }\ntype User { id: ID! name: String }\n';

function knows(store: SchemaStore, query: string): boolean {
  return store.analyzer.analyze(query, undefined, 1000).ok;
}

test('an invalid schema file at startup throws with file:line:col', () => {
  const file = join(dir, 'bad.graphql');
  writeFileSync(file, 'type Query { me: Nope }\n');
  assert.throws(() => new SchemaStore(file), (err: unknown) => err instanceof SchemaLoadError && /bad\.graphql:\d+:\d+: /.test(err.message));
  assert.throws(() => new SchemaStore(join(dir, 'missing.graphql')), SchemaLoadError);
});

test('a change is picked up by the watch; a bad change keeps the last good schema', async () => {
  const file = join(dir, 'shop.graphql');
  writeFileSync(file, V1);
  const store = new SchemaStore(file);
  const results: string[] = [];
  store.onReload((r) => results.push(r));
  assert.equal(knows(store, '{ me { name } }'), false);
  store.watch();
  writeFileSync(file, V2);
  for (let i = 0; i < 100 && results.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(results, ['ok']);
  assert.equal(knows(store, '{ me { name } }'), true);

  writeFileSync(file, 'type Query {');
  store.reload();
  assert.equal(results.at(-1), 'error');
  assert.equal(knows(store, '{ me { name } }'), true, 'the previous schema stays');
  assert.match(store.status().lastError?.problems[0] ?? '', /shop\.graphql/);
  store.close();
});

test('without a schema file the analysis is schema-less', () => {
  const store = new SchemaStore(undefined);
  const r = store.analyzer.analyze('{ anything { goes } }', undefined, 100);
  assert.ok(r.ok);
  assert.equal(r.op.schemaless, true);
});
