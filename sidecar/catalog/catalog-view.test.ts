// The /catalog view (shadow, zombie, deprecated in use), merging views of workers and of
// sidecars, meshward_api_calls_total, and the state file.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { mergeCatalogViews } from './catalog-merge.js';
import { apiCallsCollector } from './catalog-metrics.js';
import { CatalogStateFile } from './catalog-state.js';
import { buildCatalogView, type ViewSettings } from './catalog-view.js';
import { EMPTY_DECLARATIONS, type Declarations } from './declarations-model.js';
import { catalogSecond, Observations, Outcome } from './observations.js';

const dir = mkdtempSync(join(tmpdir(), 'meshward-catalog-view-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const X = 'spiffe://cluster.local/ns/web/sa/frontend';
const Y = 'spiffe://cluster.local/ns/ops/sa/cron';
const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T12:00:00Z');

const DECL: Declarations = {
  ...EMPTY_DECLARATIONS,
  version: 'v1',
  grpcDeclared: true,
  graphqlDeclared: true,
  methods: new Map(
    (
      [
        ['s.S/Used', false],
        ['s.S/Old', true],
        ['s.S/Unused', false],
      ] as const
    ).map(([name, deprecated]) => [name, { name, deprecated, file: 's.proto' } as never]),
  ),
  graphqlFields: new Map([
    ['Query.orders', { name: 'Query.orders', deprecated: false, deprecationReason: undefined }],
    ['Query.legacy', { name: 'Query.legacy', deprecated: true, deprecationReason: 'use orders' }],
  ]),
};
const SETTINGS: ViewSettings = { identity: 'spiffe://cluster.local/ns/shop/sa/orders', service: 'orders', undeclared: 'deny', stateFile: false, zombieAfterMs: 30 * DAY };

function observed(): Observations {
  const o = new Observations();
  o.since = NOW - DAY;
  o.grpc.record('s.S/Used', X, Outcome.FORWARDED, catalogSecond(NOW - 1000), DECL.methods);
  o.grpc.record('s.S/Old', Y, Outcome.FORWARDED, catalogSecond(NOW - 2000), DECL.methods);
  o.grpc.record('s.S/Sneaky', X, Outcome.REFUSED_UNDECLARED, catalogSecond(NOW - 3000), DECL.methods);
  o.graphql.record('Query.legacy', X, Outcome.FORWARDED, catalogSecond(NOW - 4000), DECL.graphqlFields);
  return o;
}

test('shadow, zombie and deprecated in use of one sidecar', () => {
  const v = buildCatalogView(DECL, observed(), SETTINGS, NOW);
  assert.equal(v.kind, 'meshward.catalog');
  assert.equal(v.observedSince, new Date(NOW - DAY).toISOString());
  assert.deepEqual(v.declared.map((d) => [d.protocol, d.name, d.deprecated]), [
    ['graphql', 'Query.legacy', true],
    ['graphql', 'Query.orders', false],
    ['grpc', 's.S/Old', true],
    ['grpc', 's.S/Unused', false],
    ['grpc', 's.S/Used', false],
  ]);
  assert.deepEqual(v.observed.map((o) => [o.name, o.status, o.calls, o.callers.map((c) => c.principal)]), [
    ['Query.legacy', 'deprecated', 1, [X]],
    ['s.S/Old', 'deprecated', 1, [Y]],
    ['s.S/Sneaky', 'undeclared', 1, [X]],
    ['s.S/Used', 'declared', 1, [X]],
  ]);
  assert.deepEqual(v.shadow, [{ protocol: 'grpc', name: 's.S/Sneaky', calls: 1, refused: 1, refusedUndeclared: 1, lastSeen: new Date(NOW - 3000).toISOString(), callers: [X] }]);
  assert.deepEqual(v.zombie.map((z) => z.name), ['Query.orders', 's.S/Unused']);
  assert.deepEqual(v.deprecatedInUse.map((d) => [d.name, d.callers, d.deprecationReason]), [
    ['Query.legacy', [X], 'use orders'],
    ['s.S/Old', [Y], undefined],
  ]);
  assert.equal(v.sources[0]!.declarations.grpc, true);

  // Without declarations for a protocol nothing of it is shadow or zombie.
  const none = buildCatalogView(EMPTY_DECLARATIONS, observed(), SETTINGS, NOW);
  assert.deepEqual([none.shadow.length, none.zombie.length, none.observed[0]!.status], [0, 0, 'unknown']);
});

test('with stateFile, a declared name not called within zombieAfter is a zombie again', () => {
  const o = observed();
  o.grpc.record('s.S/Unused', X, Outcome.FORWARDED, catalogSecond(NOW - 40 * DAY), DECL.methods);
  const names = (stateFile: boolean) => buildCatalogView(DECL, o, { ...SETTINGS, stateFile }, NOW).zombie.map((z) => [z.name, z.lastSeen]);
  assert.deepEqual(names(false), [['Query.orders', null]]);
  assert.deepEqual(names(true), [['Query.orders', null], ['s.S/Unused', new Date(NOW - 40 * DAY).toISOString()]]);
});

test('merged views: counts add up, zombies only where no source saw a call, peaks sum (workers) or max (sidecars)', () => {
  const a = observed();
  const b = new Observations();
  b.since = NOW - 2 * DAY;
  b.grpc.record('s.S/Unused', Y, Outcome.FORWARDED, catalogSecond(NOW - 500), DECL.methods);
  b.grpc.record('s.S/Used', X, Outcome.FORWARDED, catalogSecond(NOW - 400), DECL.methods);
  b.grpc.record('s.S/Used', X, Outcome.FORWARDED, catalogSecond(NOW - 300), DECL.methods);
  b.grpc.record('s.S/Sneaky', Y, Outcome.REFUSED_UNDECLARED, catalogSecond(NOW - 200), DECL.methods);
  const views = [buildCatalogView(DECL, a, SETTINGS, NOW), buildCatalogView(DECL, b, { ...SETTINGS, identity: 'spiffe://cluster.local/ns/shop/sa/orders-2' }, NOW)];
  const m = mergeCatalogViews(views, 'max', NOW);
  assert.equal(m.sources.length, 2);
  assert.equal(m.observedSince, new Date(NOW - 2 * DAY).toISOString());
  const used = m.observed.find((o) => o.name === 's.S/Used')!;
  assert.deepEqual([used.calls, used.callers[0]!.calls, used.callers[0]!.peakPerSecond], [3, 3, 2]);
  assert.equal(mergeCatalogViews(views, 'sum', NOW).observed.find((o) => o.name === 's.S/Used')!.callers[0]!.peakPerSecond, 3);
  assert.deepEqual(m.zombie.map((z) => z.name), ['Query.orders'], 's.S/Unused was called at the second sidecar');
  assert.deepEqual(m.shadow.map((s) => [s.name, s.calls, s.refused, s.refusedUndeclared, s.callers]), [['s.S/Sneaky', 2, 2, 2, [Y, X].sort()]]);
  assert.deepEqual(m.deprecatedInUse.map((d) => d.name), ['Query.legacy', 's.S/Old']);

  // A sidecar that does not declare a name has no say on whether it is a zombie.
  const other = buildCatalogView({ ...EMPTY_DECLARATIONS, grpcDeclared: true }, new Observations(), SETTINGS, NOW);
  assert.deepEqual(mergeCatalogViews([views[0]!, other], 'max', NOW).zombie.map((z) => z.name), ['Query.orders', 's.S/Unused']);
});

test('meshward_api_calls_total: declared, deprecated, and undeclared as _OTHER', () => {
  const o = observed();
  o.grpc.record('s.S/Other', X, Outcome.FORWARDED, catalogSecond(NOW), DECL.methods);
  const text = apiCallsCollector(o, { current: DECL })();
  assert.match(text, /^# TYPE meshward_api_calls_total counter$/m);
  assert.match(text, /^meshward_api_calls_total\{method="s\.S\/Used",status="declared"\} 1$/m);
  assert.match(text, /^meshward_api_calls_total\{method="s\.S\/Old",status="deprecated"\} 1$/m);
  assert.match(text, /^meshward_api_calls_total\{method="Query\.legacy",status="deprecated"\} 1$/m);
  assert.match(text, /^meshward_api_calls_total\{method="_OTHER",status="undeclared"\} 2$/m);
  assert.doesNotMatch(text, /Sneaky/);
});

test('state file: written atomically, restored after a restart, a bad one set aside', async () => {
  const file = join(dir, 'state', 'catalog.json');
  const first = observed();
  const state = new CatalogStateFile(file, first, { current: DECL }, 60_000);
  state.start();
  await state.save();
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { format: string; since: number };
  assert.equal(saved.format, 'meshward.catalog-state/v1');
  assert.equal(saved.since, NOW - DAY);
  first.grpc.record('s.S/Used', Y, Outcome.FORWARDED, catalogSecond(NOW), DECL.methods);
  await state.close(); // the last calls are written at shutdown

  const again = new Observations();
  new CatalogStateFile(file, again, { current: DECL }).restore();
  assert.equal(again.since, NOW - DAY);
  assert.equal(again.grpc.names.get('s.S/Used')!.calls, 2);
  assert.deepEqual([...again.grpc.names.get('s.S/Used')!.callers.keys()].sort(), [X, Y].sort());

  writeFileSync(file, '{"format": "something else"}');
  const fresh = new Observations();
  new CatalogStateFile(file, fresh, { current: DECL }).restore();
  assert.equal(fresh.grpc.names.size, 0);
  assert.ok(existsSync(`${file}.invalid`), 'the bad file is kept aside');
});
