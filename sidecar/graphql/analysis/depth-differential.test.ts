// Differential tests against graphql-js on generated queries over the shop schema: our depth
// equals graphql-depth-limit's (which starts at 0 for `{ a }`, so ours is one more), every
// query graphql-js's specifiedRules accept we accept, and a misspelt field fails in both.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GraphQLCompositeType, GraphQLField } from 'graphql';
import { getNamedType, isCompositeType, isInterfaceType, isNonNullType, isObjectType, isUnionType, parse, validate } from 'graphql';
import depthLimit from 'graphql-depth-limit';
import { analysis, shopAnalyzer, shopSchema } from './shop-harness.test.js';

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random valid operations: fields, aliases, inline fragments, named fragments; no `__` fields. */
function generate(seed: number): string {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const fragments: string[] = [];
  let aliases = 0;
  const args = (f: GraphQLField<unknown, unknown>) => {
    const req = f.args.filter((a) => isNonNullType(a.type));
    const list = req.map((a) => `${a.name}: ${getNamedType(a.type).name === 'Int' ? '1' : '"x"'}`);
    if (f.args.some((a) => a.name === 'first')) list.push('first: 7'); // same arguments everywhere: no field conflicts
    return list.length > 0 ? `(${list.join(', ')})` : '';
  };
  const selection = (type: GraphQLCompositeType, budget: number): string => {
    if (isUnionType(type)) return type.getTypes().map((m) => `... on ${m.name} { ${selection(m, budget)} }`).join(' ');
    const fields = Object.values(type.getFields());
    const parts: string[] = [];
    const n = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) {
      const f = pick(fields);
      const named = getNamedType(f.type);
      const composite = isCompositeType(named);
      if (composite && budget <= 0) continue;
      const alias = rand() < 0.2 ? `a${aliases++}: ` : '';
      let body = `${alias}${f.name}${args(f)}${composite ? ` { ${selection(named, budget - 1)} }` : ''}`;
      const r = rand();
      if (r < 0.15) body = `... on ${type.name} { ${body} }`;
      else if (r < 0.3 && !isUnionType(type)) {
        const name = `F${seed}_${fragments.length}`;
        fragments.push(`fragment ${name} on ${type.name} { ${body} }`);
        body = `...${name}`;
      }
      parts.push(body);
    }
    if (parts.length === 0) parts.push(isObjectType(type) || isInterfaceType(type) ? Object.values(type.getFields()).find((f) => !isCompositeType(getNamedType(f.type)))?.name ?? 'id' : 'id');
    return parts.join(' ');
  };
  const query = shopSchema().schema.getQueryType()!;
  const root = selection(query, 1 + Math.floor(rand() * 7));
  return `query Q${seed} { ${root} } ${fragments.join(' ')}`;
}

const CORPUS = Array.from({ length: 300 }, (_, i) => generate(i + 1));

describe('differential against graphql-js', () => {
  it('depth equals graphql-depth-limit + 1 on a corpus of safe queries', () => {
    const schema = shopSchema().schema;
    let deepest = 0;
    for (const q of CORPUS) {
      const doc = parse(q);
      assert.deepEqual(validate(schema, doc), [], q);
      let depths: Record<string, number> = {};
      validate(schema, doc, [depthLimit(1000, {}, (d) => (depths = d))]);
      const [[name, theirs]] = Object.entries(depths) as [[string, number]];
      const ours = analysis(q, name).depth;
      assert.equal(ours, theirs + 1, q);
      deepest = Math.max(deepest, ours);
    }
    assert.ok(deepest >= 7, `corpus too shallow (${deepest})`);
  });

  it('a misspelt field fails validation in graphql-js and here', () => {
    const a = shopAnalyzer();
    let checked = 0;
    for (const q of CORPUS) {
      const bad = q.replace(/\b(id|name|email|total|price|totalCount)\b/, 'zz$1');
      if (bad === q) continue;
      assert.notDeepEqual(validate(shopSchema().schema, parse(bad)), [], bad);
      const r = a.analyze(bad, undefined, 100_000);
      assert.ok(!r.ok && r.failure.code === 'GRAPHQL_VALIDATION_FAILED', bad);
      checked++;
    }
    assert.ok(checked > 100);
  });
});
