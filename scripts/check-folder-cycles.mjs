// Folder-level cycles under sidecar/ (`npm run lint`): dependency-cruiser checks module cycles;
// this collapses every module to its top folder (sidecar/core, sidecar/policy…) and fails when
// two folders depend on each other, directly or through others. Tests and test helpers are left
// out: they may reach across the folders they test.

import { cruise } from 'dependency-cruiser';

const TEST = /\.test\.ts$|\.test-helper\.ts$/;
const folderOf = (path) => /^sidecar\/[^/]+(?=\/)/.exec(path)?.[0] ?? path;

const result = await cruise(['sidecar'], {
  tsPreCompilationDeps: true,
  doNotFollow: { path: 'node_modules' },
  exclude: { path: '\\.test\\.ts$|\\.test-helper\\.ts$|^node_modules/' },
  tsConfig: { fileName: 'tsconfig.json' },
});
const edges = new Map(); // folder -> Map(folder -> example "a.ts -> b.ts")
for (const m of result.output.modules) {
  if (!m.source.startsWith('sidecar/') || TEST.test(m.source)) continue;
  for (const d of m.dependencies) {
    if (!d.resolved.startsWith('sidecar/') || TEST.test(d.resolved)) continue;
    const from = folderOf(m.source);
    const to = folderOf(d.resolved);
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from).has(to)) edges.get(from).set(to, `${m.source} → ${d.resolved}`);
  }
}

// Tarjan's strongly connected components: any component of two or more folders is a cycle.
let index = 0;
const stack = [];
const state = new Map();
const cycles = [];
const visit = (v) => {
  const s = { index, low: index, onStack: true };
  index++;
  state.set(v, s);
  stack.push(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    const t = state.get(w);
    if (t === undefined) {
      visit(w);
      s.low = Math.min(s.low, state.get(w).low);
    } else if (t.onStack) s.low = Math.min(s.low, t.index);
  }
  if (s.low === s.index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component);
  }
};
for (const v of edges.keys()) if (!state.has(v)) visit(v);

if (cycles.length === 0) {
  console.log(`✔ no folder cycles (${edges.size} folders under sidecar/)`);
} else {
  for (const c of cycles) {
    console.error(`✖ folder cycle: ${c.sort().join(' ↔ ')}`);
    for (const a of c) for (const [b, example] of edges.get(a) ?? []) if (c.includes(b)) console.error(`    ${example}`);
  }
  process.exit(1);
}
