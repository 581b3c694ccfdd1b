// CPU bombs: reused fragments, counts that would overflow, cost() through shared fragments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analysis, failure, shopAnalyzer } from './shop-harness.test.js';

/** F0 { friends { nodes { ...F1 ×k } } }, F1 { ... ...F2 ×k } ...: expands to k^levels selections. */
function reusedFragments(levels: number, k: number): string {
  const frags = Array.from({ length: levels }, (_, i) => `fragment F${i} on User { id friends(first: 2) { nodes { ${`...F${i + 1} `.repeat(k)}} } }`);
  return `query Bomb { me { ...F0 } } ${frags.join(' ')} fragment F${levels} on User { name email }`;
}

/** CPU ms of one synchronous run: wall time would also count the waits for a core on a loaded machine. */
function ms(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

describe('CPU bombs', () => {
  it('deep fragments reused: analyzed in linear time, counts expanded and capped', () => {
    const q = reusedFragments(40, 4); // 4^40 expanded selections
    let op = analysis('{ me { id } }');
    const t = ms(() => (op = analysis(q)));
    assert.ok(t < 200, `took ${t} ms`);
    assert.equal(op.depth, 2 + 40 * 2);
    assert.equal(op.rootFields, 1);
    assert.ok(op.fields.has('User.email'));
    assert.equal(op.cost(undefined), Number.MAX_SAFE_INTEGER);
    // twice the fragments, about twice the time (linear, not exponential)
    // (4^200 expansions if anything were walked per spread; best of 3 against machine noise)
    const best = (levels: number) => Math.min(...[0, 1, 2].map(() => ms(() => analysis(reusedFragments(levels, 4)))));
    const small = best(100);
    const big = best(200);
    assert.ok(big < small * 8 + 30, `100 levels ${small} ms, 200 levels ${big} ms`);
  });

  it('aliases and directives through reused fragments are capped, not overflowed', () => {
    const frags = Array.from({ length: 60 }, (_, i) => `fragment A${i} on User { a: id @skip(if: false) ...A${i + 1} ...A${i + 1} }`).join(' ');
    const op = analysis(`{ me { ...A0 } } ${frags} fragment A60 on User { id }`);
    assert.equal(op.aliases, Number.MAX_SAFE_INTEGER);
    assert.equal(op.directives, Number.MAX_SAFE_INTEGER);
  });

  it('cost(variables) stays linear through reused fragments and sized contexts', () => {
    // Each level spreads the next fragment under two connections of different sizes.
    const sized = (levels: number) => {
      const frags = Array.from(
        { length: levels },
        (_, i) => `fragment C${i} on UserConnection { edges { node { friends(first: $n) { ...C${i + 1} } f2: friends(first: 3) { ...C${i + 1} } } } nodes { id } }`,
      ).join(' ');
      return `query($n: Int) { me { friends(first: $n) { ...C0 } } } ${frags} fragment C${levels} on UserConnection { totalCount }`;
    };
    const op = analysis(sized(60));
    let cost = 0;
    const t = ms(() => {
      for (let i = 0; i < 100; i++) cost = op.cost({ n: i });
    });
    assert.ok(t < 500, `100 cost() calls took ${t} ms`);
    assert.equal(cost, Number.MAX_SAFE_INTEGER);
    // me 1 + friends 1 + n × edges(1 + node 1 + [friends 1 + n × (totalCount 0)] + [f2 1 + 3 × 0]) + n × nodes(1 + id 0)
    const one = analysis(sized(1));
    assert.equal(one.cost({ n: 2 }), 2 + 2 * 4 + 2 * 1);
    assert.equal(one.cost({ n: 5 }), 2 + 5 * 4 + 5 * 1);
  });

  it('the token cap bounds the work before anything else', () => {
    const f = failure(reusedFragments(200, 8), undefined, shopAnalyzer(), 2000);
    assert.equal(f.code, 'MAX_TOKENS_LIMIT');
  });
});
