// Property-based tests of list sizes (issue 21): random nested list queries with random
// slicing arguments — negative, zero, fractional, huge, null, absent, as literals and as
// variables — against an independent reference of the cost rules. Fixed seed, so a failure
// names a case that reproduces.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphqlAnalyzer } from './analyze.js';
import { buildSchemaInfo } from './schema-info.js';

const MAX = Number.MAX_SAFE_INTEGER;
const SEED = 0x5eed21;
const CASES = 3000;

/** mulberry32: a small deterministic PRNG. */
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

// `items` and `children` require exactly one slicing argument (the spec's default); `loose`
// does not, and has an assumedSize; `page` is a connection passing its size to `nodes`.
const SDL = `
type Item {
  id: ID
  name: String @cost(weight: "2")
  children(first: Int, last: Int): [Item] @listSize(slicingArguments: ["first", "last"])
  loose(first: Float): [Item] @listSize(slicingArguments: ["first"], assumedSize: 7, requireOneSlicingArgument: false)
  page(first: Int): Page @listSize(slicingArguments: ["first"], sizedFields: ["nodes"], requireOneSlicingArgument: false)
}
type Page { nodes: [Item] total: Int }
type Query { items(first: Int, last: Int): [Item] @listSize(slicingArguments: ["first", "last"]) }`;

const schema = (() => {
  const r = buildSchemaInfo(SDL, 'property.graphql');
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.info;
})();

type Value = number | null | undefined; // undefined: the argument is not written
interface Level {
  field: 'items' | 'children' | 'loose' | 'page';
  /** first, last (loose and page: first only). */
  args: [Value, Value];
  /** Written as `$vN` (the value goes into the variables) instead of a literal. */
  asVariable: [boolean, boolean];
  leaf: 'id' | 'name';
}

function randomValue(rnd: () => number): Value {
  const r = rnd();
  if (r < 0.06) return undefined;
  if (r < 0.1) return null;
  if (r < 0.2) return 0;
  if (r < 0.25) return -Math.ceil(rnd() * 1000);
  if (r < 0.3) return Math.round(rnd() * 1000) / 10 - 20; // fractional, some negative
  if (r < 0.32) return 2 ** 53 + 2 ** 12;
  return Math.floor(rnd() * 50);
}

function randomQuery(rnd: () => number): Level[] {
  const depth = 1 + Math.floor(rnd() * 4);
  const levels: Level[] = [];
  for (let d = 0; d < depth; d++) {
    const field = d === 0 ? 'items' : (['children', 'loose', 'page'] as const)[Math.floor(rnd() * 3)]!;
    levels.push({
      field,
      args: [randomValue(rnd), (field === 'items' || field === 'children') && rnd() < 0.1 ? randomValue(rnd) : undefined],
      asVariable: [rnd() < 0.5, rnd() < 0.5],
      leaf: rnd() < 0.5 ? 'id' : 'name',
    });
  }
  return levels;
}

/** The document and variables for a case. */
function render(levels: Level[]): { query: string; variables: Record<string, unknown>; defs: string[] } {
  const variables: Record<string, unknown> = {};
  const defs: string[] = [];
  let n = 0;
  const open: string[] = [];
  for (const l of levels) {
    const written: string[] = [];
    (['first', 'last'] as const).forEach((name, i) => {
      const v = l.args[i];
      if (v === undefined) return;
      if (l.asVariable[i]) {
        const vn = `v${n++}`;
        defs.push(`$${vn}: ${l.field === 'loose' ? 'Float' : 'Int'}`);
        variables[vn] = v;
        written.push(`${name}: $${vn}`);
      } else written.push(`${name}: ${v === null ? 'null' : String(v)}`);
    });
    const args = written.length === 0 ? '' : `(${written.join(', ')})`;
    open.push(l.field === 'page' ? `page${args} { total nodes { ${l.leaf}` : `${l.field}${args} { ${l.leaf}`);
  }
  const body = open.join(' ') + ' }'.repeat(levels.length) + levels.map((l) => (l.field === 'page' ? ' }' : '')).join('');
  const query = `query${defs.length ? `(${defs.join(', ')})` : ''} { ${body} }`;
  return { query, variables, defs };
}

const valid = (v: number): boolean => Number.isInteger(v) && v >= 0;
const cap = (x: number): number => Math.min(x, MAX);

/** The reference: 'invalid' (validation failure) or the cost, computed straight from the rules. */
function reference(levels: Level[]): 'invalid' | number {
  // Validation first: literals that are not sizes, and "exactly one" where required.
  for (const l of levels) {
    const required = l.field === 'items' || l.field === 'children';
    const written = l.args.filter((v, i) => v !== undefined && (v !== null || l.asVariable[i])).length;
    if (required && written !== 1) return 'invalid';
    for (let i = 0; i < 2; i++) {
      const v = l.args[i];
      if (!l.asVariable[i] && typeof v === 'number' && !valid(v)) return 'invalid';
    }
  }
  // Sizes: a variable holding a number that is not a size prices everything at the cap.
  const sizes: number[] = [];
  for (const l of levels) {
    const given = l.args.filter((v): v is number => typeof v === 'number');
    if (given.some((v) => !valid(v))) return MAX;
    const size = given.length > 0 ? Math.max(...given) : l.field === 'loose' ? 7 : 10;
    sizes.push(Math.max(Math.min(size, MAX), 1));
  }
  // Inside out: a level costs size × (1 for Item + its leaf + the level below); a page
  // costs 1 (Page) + size × (1 + leaf + below) through its sized `nodes`.
  let below = 0;
  for (let d = levels.length - 1; d >= 0; d--) {
    const l = levels[d]!;
    const leaf = l.leaf === 'name' ? 2 : 0;
    const item = cap(1 + leaf + below);
    below = l.field === 'page' ? cap(1 + cap(sizes[d]! * item)) : cap(sizes[d]! * item);
  }
  return below;
}

describe('slicing arguments, property-based (fixed seed)', () => {
  const analyzer = new GraphqlAnalyzer({ schema, cacheEntries: 0 });
  const costOf = (levels: Level[]): 'invalid' | number => {
    const { query, variables } = render(levels);
    const r = analyzer.analyze(query, undefined, 100_000);
    if (!r.ok) {
      assert.equal(r.failure.code, 'GRAPHQL_VALIDATION_FAILED', `${query}: ${r.failure.message}`);
      return 'invalid';
    }
    return r.op.cost(variables);
  };

  it(`${CASES} random queries cost what the reference says, never 0`, () => {
    const rnd = prng(SEED);
    let refused = 0;
    for (let i = 0; i < CASES; i++) {
      const levels = randomQuery(rnd);
      const got = costOf(levels);
      const want = reference(levels);
      assert.equal(got, want, `case ${i}: ${render(levels).query} ${JSON.stringify(render(levels).variables)}`);
      if (got !== 'invalid') assert.ok(got >= 1, `case ${i}: cost ${got}`);
      if (got === 'invalid' || got === MAX) refused++;
    }
    // The generator must exercise both sides.
    assert.ok(refused > CASES / 10 && refused < CASES - CASES / 10, `${refused} of ${CASES} refused or capped`);
  });

  it('raising a valid slicing value never lowers the cost; 0 costs as much as 1', () => {
    const rnd = prng(SEED + 1);
    for (let i = 0; i < CASES; i++) {
      const levels = randomQuery(rnd).map((l) => ({ ...l, args: [Math.floor(rnd() * 20), undefined] as [Value, Value] }));
      const d = Math.floor(rnd() * levels.length);
      const base = costOf(levels);
      const more = levels.map((l, j) => (j === d ? { ...l, args: [(l.args[0] as number) + 1 + Math.floor(rnd() * 5), undefined] as [Value, Value] } : l));
      const zero = levels.map((l, j) => (j === d ? { ...l, args: [0, undefined] as [Value, Value] } : l));
      const one = levels.map((l, j) => (j === d ? { ...l, args: [1, undefined] as [Value, Value] } : l));
      assert.ok(typeof base === 'number' && costOf(more) >= base, `case ${i}`);
      assert.equal(costOf(zero), costOf(one), `case ${i}`);
    }
  });

  it('a value as a literal and in a variable cost the same, or the literal fails validation and the variable hits the cap', () => {
    const rnd = prng(SEED + 2);
    for (let i = 0; i < CASES; i++) {
      const levels = randomQuery(rnd).map((l) => ({ ...l, args: [l.args[0] ?? 1, undefined] as [Value, Value] }));
      const literal = costOf(levels.map((l) => ({ ...l, asVariable: [false, false] as [boolean, boolean] })));
      const variable = costOf(levels.map((l) => ({ ...l, asVariable: [true, true] as [boolean, boolean] })));
      if (literal === 'invalid') {
        // null as a literal is "not written" (exactly one is required); in a variable it is "not given".
        assert.ok(variable === MAX || levels.some((l) => l.args[0] === null), `case ${i}: ${variable}`);
      } else assert.equal(variable, literal, `case ${i}`);
    }
  });
});
