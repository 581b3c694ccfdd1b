// GraphQL hardening (issue 21) against the built sidecar and apps that record what they
// receive: list sizes that used to make an operation free, an app that closes kept-alive
// connections at the worst moment, request heads over the header limit, and a bounded
// fuzz of documents (fixed seed) after which every document the app received is checked
// against the limits by an independent estimate.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, type DocumentNode, type FieldNode, type SelectionSetNode, type ValueNode, Kind } from 'graphql';
import { SHOP_SCHEMA_FILE, startGraphqlApp, type GraphqlApp } from '../demo/graphql-app.js';
import { startClosingApp, type ClosingApp } from './support/closing-app.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { gql, type GqlTls } from './support/graphql-client.js';
import { Flag, FrameType, RawConnection, frame, headerBlock } from './support/h2-frames.js';
import { eventually, fdCount } from './support/proc-net.js';
import { closeSession, openSession, rawRequestOn } from './support/raw-h2.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, makePki, type Pki } from './support/tls-fixtures.js';

const LIMITS = { depth: 6, cost: 2000, aliases: 8, rootFields: 4, tokens: 400, directives: 4 };

const policy = (limits: string) => `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: shop }
spec:
  graphql:
    - path: /graphql
      allow: [ { principals: ["*"] } ]
${limits}`;

let dir: string;
let pki: Pki;
let app: GraphqlApp;
let closingApp: ClosingApp;
/** In front of the demo app, with the limits above. */
let sidecar: SidecarProcess;
/** In front of the app that closes kept-alive connections. */
let closing: SidecarProcess;
let tls: GqlTls;
let mtls: ReturnType<typeof clientTls>;

async function startGraphqlSidecar(name: string, appPort: number, policyText: string): Promise<SidecarProcess> {
  const policyDir = join(dir, `${name}-policies`);
  await mkdir(policyDir);
  await writeFile(join(policyDir, 'shop.yaml'), policyText);
  const config = await writeSidecarConfig(dir, { appPort: 1, pki, fileName: `${name}.yaml`, extra: `policies: [${name}-policies/]\naudit: { file: ${name}-audit.log }` });
  const text = await readFile(config, 'utf8');
  const graphql = `  graphql: { path: /graphql, app: "127.0.0.1:${appPort}", schemaFile: ${JSON.stringify(SHOP_SCHEMA_FILE)} }\n`;
  await writeFile(config, text.replace('admin:\n', `${graphql}admin:\n`));
  return startSidecar(config, { timeoutMs: 30_000 }); // two sidecars and two apps start at once
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-graphql-hardening-'));
  pki = await makePki(join(dir, 'pki'));
  tls = clientTls(pki, pki.client);
  mtls = clientTls(pki, pki.client);
  [app, closingApp] = await Promise.all([startGraphqlApp(), startClosingApp()]);
  const limits = `      limits: { ${Object.entries(LIMITS).map(([k, v]) => `${k}: ${v}`).join(', ')} }\n`;
  [sidecar, closing] = await Promise.all([
    startGraphqlSidecar('main', app.port, policy(limits)),
    startGraphqlSidecar('closing', closingApp.port, policy('')),
  ]);
});

after(async () => {
  await stopAll();
  await app?.close();
  await closingApp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The GraphQL response media type: refusals of a document then carry their 4xx status (GraphQL over HTTP). */
const ACCEPT = { accept: 'application/graphql-response+json' };
const post = (s: SidecarProcess, query: string, variables?: Record<string, unknown>) => gql(s.inbound, { tls, headers: ACCEPT, body: { query, variables } });

describe('list sizes never make an operation cheap', () => {
  const cases: Array<[string, string, Record<string, unknown> | undefined, number, string]> = [
    ['a negative literal', '{ users(first: -1) { friends(first: 1000) { friends(first: 1000) { id } } } }', undefined, 400, 'GRAPHQL_VALIDATION_FAILED'],
    ['a negative variable', 'query($n: Int) { users(first: $n) { friends(first: 1000) { id } } }', { n: -1 }, 400, 'COST_LIMIT'],
    ['a fractional literal', '{ users(first: 0.5) { friends(first: 1000) { id } } }', undefined, 400, 'GRAPHQL_VALIDATION_FAILED'],
    ['zero: the field is still resolved, its children priced for one item', '{ users(first: 0) { friends(first: 1000) { friends(first: 1000) { id } } } }', undefined, 400, 'COST_LIMIT'],
  ];
  for (const [name, query, variables, status, code] of cases) {
    test(name, async () => {
      const before = app.documents().length;
      const r = await post(sidecar, query, variables);
      assert.equal(r.status, status, r.text);
      assert.equal(r.json?.errors?.[0]?.extensions?.code, code, r.text);
      assert.equal(app.documents().length, before, 'never reached the app');
    });
  }

  test('a small valid query still goes through', async () => {
    const r = await post(sidecar, '{ users(first: 2) { friends(first: 2) { name } } }');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.users.length, 2);
  });
});

describe('an app that closes kept-alive connections at the worst moment', () => {
  test('queries over one HTTP/2 session and over HTTP/1.1: no failure', async () => {
    const session = await openSession(closing.inbound, { ...mtls, servername: 'x' });
    try {
      const statuses: Array<number | undefined> = [];
      for (let i = 0; i < 20; i++) {
        const body = JSON.stringify({ query: `query Q${i} { __typename }` });
        statuses.push((await rawRequestOn(session, { path: '/graphql', contentType: 'application/json', body })).status);
        statuses.push((await rawRequestOn(session, { path: `/graphql?query=${encodeURIComponent(`{ __typename }`)}`, method: 'GET', contentType: null })).status);
      }
      for (let i = 0; i < 10; i++) statuses.push((await post(closing, `query H${i} { __typename }`)).status);
      assert.deepEqual(statuses.filter((s) => s !== 200), [], 'every query answered 200');
      // The app did close connections under the sidecar: the retries were needed.
      assert.ok(closingApp.bodies.length > 50, `${closingApp.bodies.length} requests reached the app`);
    } finally {
      await closeSession(session);
    }
  });

  test('a mutation is never sent twice', async () => {
    const results: number[] = [];
    for (let i = 0; i < 4; i++) results.push((await post(closing, `mutation M${i} { deleteOrder(id: "${i}") }`)).status);
    for (let i = 0; i < 4; i++) {
      const seen = closingApp.bodies.filter((b) => b.includes(`mutation M${i} `)).length;
      assert.equal(seen, 1, `mutation M${i} reached the app ${seen} times (status ${results[i]})`);
    }
  });

  test('idle pooled connections are closed by the sidecar before an app would time them out', async () => {
    const before = closingApp.clientClosedAfterMs.length;
    assert.equal((await post(closing, '{ __typename }')).status, 200);
    // Node's default keep-alive timeout is 5 s; the sidecar lets go of an idle connection after ~1 s.
    const closed = await eventually(() => closingApp.clientClosedAfterMs.slice(before).some((ms) => ms >= 500 && ms < 4000), 5000);
    assert.ok(closed, JSON.stringify(closingApp.clientClosedAfterMs.slice(before)));
  });
});

describe('request heads over the header limit are answered alone', () => {
  const bigQuery = (kib: number) => `/graphql?query=${encodeURIComponent('{ me { name } }')}&pad=${'a'.repeat(kib * 1024)}`;

  test('HTTP/2 at the start of a session (before the limit binds): 431 from meshward; the other requests go on', async () => {
    const session = await openSession(sidecar.inbound, { ...mtls, servername: 'x' });
    try {
      const before = app.requests.length;
      const small = () => rawRequestOn(session, { path: `/graphql?query=${encodeURIComponent('{ me { name } }')}`, method: 'GET', contentType: null });
      const [a, big, b] = await Promise.all([small(), rawRequestOn(session, { path: bigQuery(20), method: 'GET', contentType: null }), small()]);
      assert.equal(big.status, 431, JSON.stringify(big));
      assert.equal(JSON.parse(big.body.toString()).errors[0].extensions.code, 'HEADERS_TOO_LARGE');
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      assert.equal((await small()).status, 200, 'the session goes on');
      assert.equal(app.requests.length - before, 3, 'the large request never reached the app');
    } finally {
      await closeSession(session);
    }
  });

  test('HTTP/2 once the limit binds: that stream is reset, a request in flight on the session completes', async () => {
    const c = await RawConnection.open(sidecar.inbound, mtls);
    try {
      c.start();
      c.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
      assert.ok(await c.until(() => c.frames.some((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK), 3000));
      const head = (path: string, method: string) => headerBlock([[':method', method], [':scheme', 'https'], [':path', path], [':authority', 'x'], ['content-type', 'application/json']]);
      c.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, head('/graphql', 'POST'))); // in flight: its body follows
      const big = head(bigQuery(40), 'GET');
      const frames: Buffer[] = [];
      for (let off = 0; off < big.length; off += 16384) {
        const last = off + 16384 >= big.length;
        frames.push(frame(off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION, (last ? Flag.END_HEADERS : 0) | (off === 0 ? Flag.END_STREAM : 0), 3, big.subarray(off, off + 16384)));
      }
      c.write(...frames);
      assert.ok(await c.until(() => c.rstCode(3) !== undefined || c.goaway() !== undefined, 3000));
      assert.equal(c.goaway(), undefined);
      c.write(frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from(JSON.stringify({ query: '{ me { name } }' }))));
      assert.ok(await c.until(() => c.frames.some((f) => f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0), 5000), 'stream 1 answered');
      assert.equal(c.rstCode(1), undefined);
    } finally {
      c.destroy();
    }
  });

  test('HTTP/1.1: 431, and the app never sees it', async () => {
    const before = app.requests.length;
    const r = await gql(sidecar.inbound, { tls, method: 'GET', path: bigQuery(20), body: undefined });
    assert.equal(r.status, 431);
    assert.equal(app.requests.length, before);
    assert.equal((await post(sidecar, '{ me { name } }')).status, 200);
  });
});

// ---------------------------------------------------------------------------------------
// The fuzz: random documents over the demo schema (demo/shop.graphql), fixed seed.

const SEED = 0x21f022;
const FUZZ_CASES = 3000;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The demo schema as the generator and the independent estimate see it (from demo/shop.graphql, written out by hand). */
interface FieldSpec {
  type: string;
  list?: boolean;
  args?: Record<string, 'Int' | 'ID' | 'String'>;
  /** @listSize: slicing arguments and assumedSize. */
  slicing?: string[];
  assumed?: number;
  weight?: number;
}
const OBJECTS: Record<string, Record<string, FieldSpec>> = {
  Query: {
    me: { type: 'User' },
    user: { type: 'User', args: { id: 'ID' } },
    users: { type: 'User', list: true, args: { first: 'Int', last: 'Int' }, slicing: ['first', 'last'], assumed: 50 },
    node: { type: 'Node', args: { id: 'ID' } },
    account: { type: 'Account', args: { id: 'ID' } },
    search: { type: 'SearchResult', list: true, args: { text: 'String' }, assumed: 20 },
    orders: { type: 'Order', list: true, args: { first: 'Int' }, slicing: ['first'] },
    report: { type: 'Report', weight: 100 },
  },
  User: {
    id: { type: 'ID' },
    name: { type: 'String' },
    email: { type: 'String' },
    friends: { type: 'User', list: true, args: { first: 'Int' }, slicing: ['first'] },
    orders: { type: 'Order', list: true },
  },
  Order: { id: { type: 'ID' }, item: { type: 'String' }, total: { type: 'Float' }, owner: { type: 'User' } },
  Report: { revenue: { type: 'Float' } },
  Mutation: { placeOrder: { type: 'Order', args: { item: 'String' }, weight: 10 }, deleteOrder: { type: 'Boolean', args: { id: 'ID' }, weight: 50 } },
};
/** Abstract types: the object types they can be. */
const POSSIBLE: Record<string, string[]> = { Node: ['User', 'Order'], Account: ['User'], SearchResult: ['User', 'Order'] };
const INTERFACE_FIELDS: Record<string, string[]> = { Node: ['id'], Account: ['id', 'email'] };
const SCALARS = new Set(['ID', 'String', 'Float', 'Int', 'Boolean']);

function slicingValue(rnd: () => number): string | number {
  const r = rnd();
  if (r < 0.1) return -Math.ceil(rnd() * 100);
  if (r < 0.15) return Math.round(rnd() * 50) / 10;
  if (r < 0.22) return 0;
  if (r < 0.27) return 2 ** 40;
  if (r < 0.32) return 'null';
  return Math.floor(rnd() * 60);
}

interface Generated {
  query: string;
  variables: Record<string, unknown>;
}

function generate(rnd: () => number): Generated {
  const variables: Record<string, unknown> = {};
  const defs: string[] = [];
  const fragments: string[] = [];
  let aliasN = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const argFor = (name: string, kind: string, slicing: boolean): string => {
    if (slicing) {
      const v = slicingValue(rnd);
      if (rnd() < 0.35 && v !== 'null') {
        const vn = `v${defs.length}`;
        defs.push(`$${vn}: Int`);
        variables[vn] = v;
        return `${name}: $${vn}`;
      }
      return `${name}: ${v}`;
    }
    return `${name}: ${kind === 'Int' ? Math.floor(rnd() * 5) : JSON.stringify(`u${1 + Math.floor(rnd() * 3)}`)}`;
  };
  const selection = (type: string, depth: number): string => {
    if (POSSIBLE[type] !== undefined) {
      const parts: string[] = ['__typename'];
      for (const f of INTERFACE_FIELDS[type] ?? []) if (rnd() < 0.5) parts.push(f);
      for (const member of POSSIBLE[type]!) if (rnd() < 0.6) parts.push(`... on ${member} { ${selection(member, depth)} }`);
      return parts.join(' ');
    }
    const fields = OBJECTS[type]!;
    const names = Object.keys(fields);
    const count = 1 + Math.floor(rnd() * (depth > 4 ? 2 : 4));
    const parts: string[] = [];
    for (let i = 0; i < count; i++) {
      const name = pick(names);
      const spec = fields[name]!;
      const args = Object.entries(spec.args ?? {})
        .filter(([a]) => (spec.slicing?.includes(a) ? rnd() < 0.8 : rnd() < 0.9))
        .map(([a, kind]) => argFor(a, kind, spec.slicing?.includes(a) ?? false));
      const alias = rnd() < 0.15 ? `a${aliasN++}: ` : '';
      const directive = rnd() < 0.05 ? ' @include(if: true)' : '';
      const head = `${alias}${name}${args.length > 0 ? `(${args.join(', ')})` : ''}${directive}`;
      if (SCALARS.has(spec.type)) parts.push(head);
      else if (rnd() < 0.1 && spec.type === 'User') {
        const fname = `F${fragments.length}`;
        fragments.push(`fragment ${fname} on User { ${selection('User', depth + 1)} }`);
        parts.push(`${head} { ...${fname} }`);
      } else parts.push(`${head} { ${depth > 7 ? '__typename' : selection(spec.type, depth + 1)} }`);
    }
    return parts.join(' ');
  };
  const mutation = rnd() < 0.05;
  let body = selection(mutation ? 'Mutation' : 'Query', 1);
  if (rnd() < 0.03) body += ' __schema { queryType { name } }';
  if (rnd() < 0.03) body += ' nonsense';
  let query = `${mutation ? 'mutation' : 'query'}${defs.length > 0 ? `(${defs.join(', ')})` : ''} { ${body} } ${fragments.join(' ')}`;
  if (rnd() < 0.03) {
    const at = Math.floor(rnd() * query.length);
    query = query.slice(0, at) + query.slice(at + 1 + Math.floor(rnd() * 5)); // a syntax error, mostly
  }
  return { query, variables };
}

/**
 * An estimate of what a document the app received costs, independent of meshward's analyzer:
 * list sizes from the slicing arguments written (invalid values: Infinity), else assumedSize,
 * else 10, at least 1; abstract types summed over their inline fragments. Also depth and aliases.
 */
function estimate(doc: DocumentNode, variables: Record<string, unknown>): { cost: number; depth: number; aliases: number; badSlice: boolean } {
  const fragments = new Map(doc.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  let aliases = 0;
  let badSlice = false;
  const valueOf = (v: ValueNode): unknown => (v.kind === Kind.VARIABLE ? variables[v.name.value] : v.kind === Kind.INT || v.kind === Kind.FLOAT ? Number(v.value) : v.kind === Kind.NULL ? null : undefined);
  const walk = (set: SelectionSetNode, type: string, depth: number): { cost: number; depth: number } => {
    let cost = 0;
    let deepest = depth;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(sel.name.value)!;
        const r = walk(f.selectionSet, f.typeCondition.name.value, depth);
        cost += r.cost;
        deepest = Math.max(deepest, r.depth);
        continue;
      }
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const r = walk(sel.selectionSet, sel.typeCondition?.name.value ?? type, depth);
        cost += r.cost;
        deepest = Math.max(deepest, r.depth);
        continue;
      }
      const field = sel as FieldNode;
      if (field.alias !== undefined) aliases++;
      deepest = Math.max(deepest, depth + 1);
      const name = field.name.value;
      if (name === '__typename') continue;
      const spec = (OBJECTS[type] ?? {})[name] ?? (INTERFACE_FIELDS[type]?.includes(name) ? { type: 'ID' } : undefined);
      if (spec === undefined) return { cost: Infinity, depth: Infinity };
      let size = 1;
      if (spec.list) {
        const given: number[] = [];
        for (const a of field.arguments ?? []) {
          if (!spec.slicing?.includes(a.name.value)) continue;
          const v = valueOf(a.value);
          if (typeof v !== 'number') continue;
          if (!Number.isInteger(v) || v < 0) badSlice = true;
          given.push(v);
        }
        size = Math.max(1, given.length > 0 ? Math.max(...given) : spec.assumed ?? 10);
      }
      const typeWeight = SCALARS.has(spec.type) ? 0 : 1;
      const inner = field.selectionSet === undefined ? { cost: 0, depth: depth + 1 } : walk(field.selectionSet, spec.type, depth + 1);
      cost += (spec.weight ?? 0) + size * (typeWeight + inner.cost);
      deepest = Math.max(deepest, inner.depth);
    }
    return { cost, depth: deepest };
  };
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (op === undefined || op.kind !== Kind.OPERATION_DEFINITION) return { cost: Infinity, depth: Infinity, aliases, badSlice };
  const r = walk(op.selectionSet, op.operation === 'mutation' ? 'Mutation' : 'Query', 0);
  return { cost: r.cost, depth: r.depth, aliases, badSlice };
}

describe('GraphQL fuzz (fixed seed)', () => {
  test(`${FUZZ_CASES} random documents: no crash, no 5xx, nothing over a limit reaches the app`, async (t) => {
    const pid = sidecar.proc.pid!;
    const baseline = fdCount(pid);
    const rnd = prng(SEED);
    const cases = Array.from({ length: FUZZ_CASES }, () => generate(rnd));
    const before = app.requests.length;
    const statuses = new Map<number, number>();
    const SESSIONS = 4;
    const PER_SESSION = 4; // requests in flight per session
    let next = 0;
    await Promise.all(
      Array.from({ length: SESSIONS }, async () => {
        const session = await openSession(sidecar.inbound, { ...mtls, servername: 'x' });
        try {
          await Promise.all(
            Array.from({ length: PER_SESSION }, async () => {
              while (next < cases.length) {
                const c = cases[next++]!;
                const r = await rawRequestOn(session, { path: '/graphql', contentType: 'application/json', headers: ACCEPT, body: JSON.stringify(c), timeoutMs: 10_000 });
                const status = r.status ?? -(r.rstCode ?? 0);
                statuses.set(status, (statuses.get(status) ?? 0) + 1);
              }
            }),
          );
        } finally {
          await closeSession(session);
        }
      }),
    );
    const summary = JSON.stringify(Object.fromEntries(statuses));
    t.diagnostic(`statuses: ${summary}`);
    // Refused documents are 400 under the GraphQL response media type; introspection 403.
    for (const status of statuses.keys()) assert.ok([200, 400, 403, 405].includes(status), `unexpected status ${status}: ${summary}`);
    assert.ok((statuses.get(200) ?? 0) > FUZZ_CASES / 10 && (statuses.get(400) ?? 0) > FUZZ_CASES / 10, `both sides exercised: ${summary}`);
    assert.equal(sidecar.proc.exitCode, null, 'the sidecar is alive');
    // Everything the app received is within the limits, by the independent estimate.
    const received = app.requests.slice(before);
    assert.equal(received.length, statuses.get(200) ?? 0, 'every 200 came from the app, and only those reached it');
    for (const request of received) {
      const body = JSON.parse(request.body) as Generated;
      const e = estimate(parse(body.query), body.variables ?? {});
      assert.ok(!e.badSlice, `a negative or fractional slicing argument reached the app: ${body.query} ${JSON.stringify(body.variables)}`);
      assert.ok(e.cost <= LIMITS.cost, `cost ${e.cost} over ${LIMITS.cost} reached the app: ${body.query} ${JSON.stringify(body.variables)}`);
      assert.ok(e.depth <= LIMITS.depth, `depth ${e.depth}: ${body.query}`);
      assert.ok(e.aliases <= LIMITS.aliases, `aliases ${e.aliases}: ${body.query}`);
    }
    assert.ok(await eventually(() => fdCount(pid) <= baseline + 2, 10_000), `descriptors ${fdCount(pid)}, baseline ${baseline}`);
  });
});
