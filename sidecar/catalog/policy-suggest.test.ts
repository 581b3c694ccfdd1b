// Learn mode: the suggested policy lints, allows exactly the observed (forwarded) caller and
// method pairs once switched to enforce, limits at twice the peak; and the text formats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicies } from '../policy/compile.js';
import { parsePolicySources } from '../policy/load.js';
import { formatMarkdown, formatTable } from './catalog-format.js';
import { buildCatalogView } from './catalog-view.js';
import { EMPTY_DECLARATIONS, type Declarations } from './declarations-model.js';
import { catalogSecond, Observations, Outcome } from './observations.js';
import { suggestPolicy } from './policy-suggest.js';

const X = 'spiffe://cluster.local/ns/web/sa/frontend';
const Y = 'spiffe://cluster.local/ns/ops/sa/cron';
const Z = 'spiffe://cluster.local/ns/evil/sa/probe';
const NOW = Date.parse('2026-12-01T12:00:00Z');

const DECL: Declarations = {
  ...EMPTY_DECLARATIONS,
  grpcDeclared: true,
  graphqlDeclared: true,
  methods: new Map(['s.v1.S/Get', 's.v1.S/Put', 's.v1.S/Never'].map((name) => [name, { name, deprecated: name.endsWith('Put'), file: 's.proto' } as never])),
  graphqlFields: new Map([['Query.a', { name: 'Query.a', deprecated: false, deprecationReason: undefined }]]),
};

function view() {
  const o = new Observations();
  for (let i = 0; i < 5; i++) o.grpc.record('s.v1.S/Get', X, Outcome.FORWARDED, catalogSecond(NOW + i * 100), DECL.methods); // peak 5/s
  o.grpc.record('s.v1.S/Get', Y, Outcome.FORWARDED, catalogSecond(NOW), DECL.methods);
  o.grpc.record('s.v1.S/Get', Z, Outcome.REFUSED, catalogSecond(NOW), DECL.methods); // a refused attempt: never allowed
  o.grpc.record('s.v1.S/Put', Y, Outcome.FORWARDED, catalogSecond(NOW), DECL.methods);
  o.grpc.record('s.v1.S/Hidden', X, Outcome.FORWARDED, catalogSecond(NOW), DECL.methods); // undeclared (audit mode)
  o.graphql.record('Query.a', X, Outcome.FORWARDED, catalogSecond(NOW), DECL.graphqlFields);
  return buildCatalogView(DECL, o, { identity: 'spiffe://cluster.local/ns/s/sa/s', service: 's', undeclared: 'audit', stateFile: false, zombieAfterMs: 1 }, NOW);
}

test('the suggestion lints and allows exactly the observed pairs once enforced', () => {
  const yaml = suggestPolicy(view(), { name: 'learned', now: NOW });
  assert.match(yaml, /^  mode: audit$/m);
  assert.match(yaml, /^# .*s\.v1\.S\/Hidden: not declared in catalog\.protos/m);
  assert.match(yaml, /rateLimit: \{ requests: 10, per: 1s, by: principal \}/, 'twice the peak of 5/s');
  const audit = parsePolicySources([{ file: 'learned.yaml', text: yaml }]);
  assert.ok(audit.ok, audit.ok ? '' : audit.problems.join('\n'));

  const enforced = parsePolicySources([{ file: 'learned.yaml', text: yaml.replace(/^  mode: audit$/m, '  mode: enforce') }]);
  assert.ok(enforced.ok);
  const snapshot = compilePolicies(enforced);
  const decide = (method: string, principal: string) => snapshot.decide({ method, principal, jwt: undefined }).decision;
  assert.deepEqual(
    ['s.v1.S/Get', 's.v1.S/Put', 's.v1.S/Hidden', 's.v1.S/Never'].map((m) => [X, Y, Z].map((p) => decide(m, p))),
    [
      ['allow', 'allow', 'deny'],
      ['deny', 'allow', 'deny'],
      ['deny', 'deny', 'deny'],
      ['deny', 'deny', 'deny'],
    ],
  );
});

test('nothing observed: an empty, valid policy', () => {
  const empty = buildCatalogView(EMPTY_DECLARATIONS, new Observations(), { identity: null, service: null, undeclared: 'deny', stateFile: false, zombieAfterMs: 1 }, NOW);
  const yaml = suggestPolicy(empty, { name: 'learned', now: NOW });
  assert.match(yaml, /grpc: \[\]/);
  assert.ok(parsePolicySources([{ file: 'x.yaml', text: yaml }]).ok);
});

test('table and Markdown show every finding', () => {
  const v = view();
  const table = formatTable(v);
  assert.match(table, /Shadow APIs \(observed, not declared\): 1\n.*\n\s+grpc\s+s\.v1\.S\/Hidden/);
  assert.match(table, /Zombie APIs \(declared, not called\): 1\n.*\n\s+grpc\s+s\.v1\.S\/Never/);
  assert.match(table, /Deprecated APIs in use: 1\n.*\n\s+grpc\s+s\.v1\.S\/Put/);
  const md = formatMarkdown(v);
  assert.match(md, /\*\*1\*\* shadow, \*\*1\*\* zombie, \*\*1\*\* deprecated in use/);
  assert.match(md, /^\| grpc \| `s\.v1\.S\/Hidden` \| 1 \| 0 \|/m);
});
