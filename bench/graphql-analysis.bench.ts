// GraphQL document analysis cost: meshward's analyzer (cold = the analysis without a cache,
// miss = a miss that inserts into a full LRU, cached = a hit) against graphql-armor's five
// rules run the way a graphql-js server runs them (token-capped parse + validate(schema,
// doc, rules)), alone and with graphql-js's specifiedRules, on one schema and a small corpus;
// plus graphql-depth-limit on reused-fragment bombs. Each (query, contestant) runs in its own
// process, so no contestant's JIT state, heap or GC threads touch another's (they share
// graphql-js), and the contestants of a query take turns for 15 rounds of ~20 ms (process
// CPU time, GC included) so machine load hits them alike; the best round counts. Compare
// ratios: absolute times on a shared machine are noise.
// Run: node --import tsx bench/graphql-analysis.bench.ts [msPerMeasurement]
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import armorCost from '@escape.tech/graphql-armor-cost-limit';
import armorAliases from '@escape.tech/graphql-armor-max-aliases';
import armorDepth from '@escape.tech/graphql-armor-max-depth';
import armorDirectives from '@escape.tech/graphql-armor-max-directives';
import armorTokens from '@escape.tech/graphql-armor-max-tokens';
import type { GraphQLError, ValidationRule } from 'graphql';
import { parse, specifiedRules, validate } from 'graphql';
import depthLimit from 'graphql-depth-limit';
import { GraphqlAnalyzer } from '../sidecar/graphql/analysis/analyze.js';
import { buildSchemaInfo } from '../sidecar/graphql/analysis/schema-info.js';

const BUDGET_MS = Number(process.argv[2] ?? 300);
const ROUNDS = 15;
const LIMITS = { depth: 10, cost: 5000, aliases: 20, directives: 20, tokens: 2000 };

const built = buildSchemaInfo(readFileSync(new URL('../sidecar/graphql/analysis/testdata/shop.graphql', import.meta.url), 'utf8'), 'shop.graphql');
if (!built.ok) throw new Error(built.problems.join('\n'));
const info = built.info;
const schema = info.schema;

const typical = `query Feed($n: Int = 10) {
  me {
    id name email
    address { street city country }
    friends(first: $n) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        cursor
        node {
          id name
          orders(first: 5) {
            id total status
            items { quantity product { id name price reviews(first: 3) { rating body author { id name } } } }
          }
          posts(limit: 3) { title comments { rating author { name } } }
        }
      }
    }
  }
  search(text: "lamp", limit: 5) {
    ... on Product { id name price related { id name price } }
    ... on User { id name }
    ... on Order { id total customer { id name } }
  }
}`;

const fragmentHeavy = `query Fragments {
  me { ...UserCard friends(first: 5) { nodes { ...UserCard orders { ...OrderRow } } edges { node { ...UserCard } } } }
  user(id: "1") { ...UserCard orders { ...OrderRow } }
  node(id: "2") { ... on User { ...UserCard } ... on Product { ...ProductCard } ... on Order { ...OrderRow } }
}
fragment UserCard on User { id name email address { ...Addr } posts(limit: 2) { title } }
fragment Addr on Address { street city country }
fragment OrderRow on Order { id total status items { quantity product { ...ProductCard } } customer { ...UserName } }
fragment ProductCard on Product { id name price reviews(first: 2) { rating author { ...UserName } } }
fragment UserName on User { id name }`;

const aliasHeavy = `query Aliases {
  ${Array.from({ length: 18 }, (_, i) => `u${i}: user(id: "${i}") { id n${i}: name email }`).join('\n  ')}
}`;

/** Fragment chain, each spreading the next `k` times: k^levels expanded selections. */
function bomb(levels: number, k: number): string {
  const frags = Array.from({ length: levels }, (_, i) => `fragment F${i} on User { id friends(first: 2) { nodes { ${`...F${i + 1} `.repeat(k)}} } }`);
  return `query Bomb { me { ...F0 } } ${frags.join(' ')} fragment F${levels} on User { name }`;
}

const corpus: Record<string, string> = {
  small: 'query Me { me { id name email } }',
  'typical 7-level': typical,
  'fragment-heavy': fragmentHeavy,
  'alias-heavy': aliasHeavy,
  'reused-fragment bomb 2^16': bomb(16, 2),
};
const bombs: Record<string, string> = { '2^12': bomb(12, 2), '2^16': bomb(16, 2), '3^10': bomb(10, 3) };

// graphql-armor, configured to the same limits; onReject records (FACTS: propagateOnRejection
// false alone would accept silently), so one run of validate() reports every rule.
let rejected: string[] = [];
const quiet = { propagateOnRejection: false, onReject: [(_ctx: unknown, err: GraphQLError) => void rejected.push(err.message.replace(/^Syntax Error: /, ''))] };
const armorRules = [
  armorDepth.maxDepthRule({ n: LIMITS.depth, flattenFragments: true, ignoreIntrospection: false, ...quiet }),
  armorCost.costLimitRule({ maxCost: LIMITS.cost, ...quiet }),
  armorAliases.maxAliasesRule({ n: LIMITS.aliases, ...quiet }),
  armorDirectives.maxDirectivesRule({ n: LIMITS.directives, ...quiet }),
] as unknown as ValidationRule[];
const withSpecified = [...specifiedRules, ...armorRules];

function armor(text: string, rules: readonly ValidationRule[]): number {
  const doc = new armorTokens.MaxTokensParserWLexer(text, { n: LIMITS.tokens, noLocation: true, ...quiet }).parseDocument();
  const n = validate(schema, doc, rules).length + rejected.length;
  rejected = [];
  return n;
}

/** 4096 distinct texts of one document (a leading comment), so cold calls always miss. */
const variants = (text: string): string[] => Array.from({ length: 4096 }, (_, i) => `# ${i}\n${text}`);

/** Each contestant: given the document, a function to call once per iteration. */
const contestants: Record<string, (text: string) => () => number> = {
  'gql parse': (text) => {
    const texts = variants(text);
    let k = 0;
    return () => parse(texts[k++ & 4095]!, { noLocation: true, maxTokens: LIMITS.tokens }).definitions.length;
  },
  // the analysis alone: no cache
  cold: (text) => {
    const texts = variants(text);
    const analyzer = new GraphqlAnalyzer({ schema: info, cacheEntries: 0 });
    let k = 0;
    return () => {
      const r = analyzer.analyze(texts[k++ & 4095]!, undefined, LIMITS.tokens);
      return r.ok ? r.op.cost(undefined) : 0;
    };
  },
  // every call misses a full LRU (1000 entries), inserts, and evicts the oldest: the
  // analysis plus the GC cost of keeping 1000 analyses alive while they churn
  miss: (text) => {
    const texts = variants(text);
    const analyzer = new GraphqlAnalyzer({ schema: info });
    let k = 0;
    return () => {
      const r = analyzer.analyze(texts[k++ & 4095]!, undefined, LIMITS.tokens);
      return r.ok ? r.op.cost(undefined) : 0;
    };
  },
  // a fresh copy of the text each call, as a request body gives (V8 caches a string's hash
  // in the string, so reusing one object would hide the cost of the key)
  cached: (text) => {
    const bytes = Buffer.from(text, 'latin1');
    const analyzer = new GraphqlAnalyzer({ schema: info });
    return () => {
      const r = analyzer.analyze(bytes.toString('latin1'), undefined, LIMITS.tokens);
      return r.ok ? r.op.cost(undefined) : 0;
    };
  },
  'copy text': (text) => {
    const bytes = Buffer.from(text, 'latin1');
    return () => bytes.toString('latin1').length;
  },
  armor: (text) => {
    const texts = variants(text);
    let k = 0;
    return () => armor(texts[k++ & 4095]!, armorRules);
  },
  '+specified': (text) => {
    const texts = variants(text);
    let k = 0;
    return () => armor(texts[k++ & 4095]!, withSpecified);
  },
  'depth-limit': (text) => {
    const doc = parse(text, { noLocation: true });
    const rule = depthLimit(1000);
    return () => validate(schema, doc, [rule]).length;
  },
};

/** Calls per round: about BUDGET_MS / ROUNDS, measured after a warm-up (JIT, cache, LRU fill). */
function calibrate(run: () => number): number {
  const warm = performance.now();
  for (let i = 0; i < 5000 && performance.now() - warm < BUDGET_MS / 2; i++) run();
  let n = 1;
  for (let t = 0; t < BUDGET_MS / ROUNDS / 2; n *= 2) {
    const start = performance.now();
    for (let i = 0; i < n; i++) run();
    t = performance.now() - start;
  }
  return n;
}

/**
 * CPU µs per call over one round of n calls: the process's CPU time (GC helper threads
 * included), which time-slicing on a loaded machine does not inflate as it does wall time.
 */
function round(run: () => number, n: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

/** A contestant in its own process, calibrated, that runs one round per request. */
function startCell(text: string, contestant: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url), [String(BUDGET_MS)], { execArgv: ['--import', 'tsx'], env: { ...process.env, GQA_CELL: contestant } });
    child.once('message', () => resolve(child));
    child.once('error', reject);
    child.send(text);
  });
}

const ask = (cell: ChildProcess): Promise<number> =>
  new Promise((resolve) => {
    cell.once('message', (m) => resolve(m as number));
    cell.send('round');
  });

/**
 * Best µs per call of each contestant on `text`: ROUNDS rounds that run every contestant
 * once in turn, so load on this shared machine hits all of them alike.
 */
async function measureAll(text: string, names: readonly string[]): Promise<Record<string, number>> {
  const cells: ChildProcess[] = [];
  for (const name of names) cells.push(await startCell(text, name));
  const best: Record<string, number> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, name] of names.entries()) best[name] = Math.min(best[name] ?? Infinity, await ask(cells[i]!));
  }
  for (const c of cells) c.kill();
  return best;
}

const fmt = (us: number): string => (us < 10 ? us.toFixed(2) : us < 1000 ? us.toFixed(1) : us.toFixed(0)).padStart(10);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}x`.padStart(11);

async function main(): Promise<void> {
  console.log(`node ${process.version}; limits ${JSON.stringify(LIMITS)}; CPU µs per document, best of ${ROUNDS} interleaved rounds, one process per contestant\n`);
  const columns = ['gql parse', 'cold', 'miss', 'cached', 'armor', '+specified'];
  console.log(`${'query'.padEnd(26)} ${'bytes'.padStart(5)} ${'tokens'.padStart(6)}${columns.map((c) => c.padStart(11)).join('')} ${'armor/miss'.padStart(11)} ${'+spec/miss'.padStart(11)}`);
  const notes: string[] = [];
  for (const [name, text] of Object.entries(corpus)) {
    const t = await measureAll(text, [...columns, 'copy text']);
    const r = new GraphqlAnalyzer({ schema: info }).analyze(text, undefined, LIMITS.tokens);
    armor(text, armorRules);
    const n = (x: number | undefined) => (x ?? Number.NaN).toFixed(0);
    console.log(
      `${name.padEnd(26)} ${String(text.length).padStart(5)} ${(r.ok ? String(r.op.tokens) : '?').padStart(6)}${columns.map((c) => ` ${fmt(t[c]!)}`).join('')} ${ratio(t.armor!, t.miss!)} ${ratio(t['+specified']!, t.miss!)}`,
    );
    rejected = [];
    const doc = parse(text);
    validate(schema, doc, armorRules);
    const ours = r.ok ? `depth ${r.op.depth}, cost ${n(r.op.cost(undefined))}, aliases ${r.op.aliases}` : r.failure.code;
    notes.push(`  ${name}: meshward ${ours}; armor ${rejected.length === 0 ? 'accepts' : `rejects (${rejected.map((m) => m.replace(/ of \d+ exceeded, found ([\d.e+]+)\./, ' $1')).join(', ')})`}; cached includes ${t['copy text']!.toFixed(2)} µs to copy the text`);
    rejected = [];
  }
  console.log(`\n${notes.join('\n')}`);

  // graphql-depth-limit walks every expansion of a reused fragment (no memo).
  console.log('\nreused-fragment bombs, depth only (graphql-depth-limit: validate with that one rule on a parsed document):');
  for (const [name, text] of Object.entries(bombs)) {
    const t = await measureAll(text, ['depth-limit', 'cold']);
    console.log(`  ${`${name} expansions`.padEnd(16)} graphql-depth-limit ${fmt(t['depth-limit']!)} µs   meshward cold ${fmt(t.cold!)} µs ${ratio(t['depth-limit']!, t.cold!)}`);
  }
}

const cell = process.env.GQA_CELL;
if (cell === undefined) {
  await main();
} else {
  // A cell: the first message is the document, then each 'round' runs one round.
  process.once('message', (text) => {
    const run = contestants[cell]!(text as string);
    const n = calibrate(run);
    process.on('message', () => process.send!(round(run, n)));
    process.send!('ready');
  });
}
