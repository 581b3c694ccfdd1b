// The API catalog's cost per call (issue 16): the observer counting a decided gRPC call (a
// known method and caller: Map lookups and counter increments) and the undeclared-method
// filter, against the same loop without them. Allocation is checked too: the heap growth
// over all timed calls (after a forced GC before and after) and the GCs that ran.
// Goal: < 1 µs per call and no allocation on a known method and caller.
// Run: node --import tsx bench/catalog.bench.ts [calls]

import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { catalogObserver } from '../sidecar/catalog/catalog-observer.js';
import { EMPTY_DECLARATIONS, type Declarations, type MethodDeclaration } from '../sidecar/catalog/declarations-model.js';
import { Observations, SecondClock } from '../sidecar/catalog/observations.js';
import { undeclaredFilter } from '../sidecar/filters/undeclared-filter.js';
import type { Call as CallContext } from '../sidecar/pipeline/call.js';
import { internString, parseGrpcPath } from '../sidecar/grpc/path.js';
import { fakeCall } from '../sidecar/telemetry/call-fixtures.test-helper.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CALLS = Number(process.argv[2] ?? 2_000_000);
const ROUNDS = 5;
const METHODS = 64;
const CALLERS = 16;

// 64 declared methods (as a mid-size API has), 16 callers; every context built before timing.
const names = Array.from({ length: METHODS }, (_, i) => `bench.v1.Service${i % 8}/Method${i}`);
const declarations: Declarations = {
  ...EMPTY_DECLARATIONS,
  grpcDeclared: true,
  // Interned, as the loader makes them (declarations.ts).
  methods: new Map(names.map((name) => [internString(name), { name, deprecated: false } as MethodDeclaration])),
};
const source = { current: declarations };
const contexts: CallContext[] = [];
for (let i = 0; i < 1024; i++) {
  const path = `/${names[i % METHODS]!}`;
  // A flat string per context, as each connection's certificate gives one (not the map's key object).
  const ctx = fakeCall(path, {}, Buffer.from(`spiffe://cluster.local/ns/team${i % CALLERS}/sa/client`).toString());
  ctx.method = parseGrpcPath(path);
  contexts.push(ctx);
}

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });

type Step = (ctx: CallContext) => unknown;

function run(step: Step, n: number): number {
  let sink = 0;
  for (let i = 0; i < n; i++) if (step(contexts[i & 1023]!) !== undefined) sink++;
  return sink;
}

/** ns per call (best round), heap bytes per call, GCs during the timed rounds. */
function measure(step: Step): { ns: number; bytesPerCall: number; gcs: number } {
  run(step, 200_000); // warm up: every method and caller is known from here on
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const gcBefore = gcs;
  let best = Infinity;
  const per = Math.ceil(CALLS / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    run(step, per);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / per);
  }
  const heapAfter = process.memoryUsage().heapUsed;
  return { ns: best, bytesPerCall: Math.max(0, heapAfter - heapBefore) / (per * ROUNDS), gcs: gcs - gcBefore };
}

const observations = new Observations();
const observer = catalogObserver(observations, source, new SecondClock());
const filter = undeclaredFilter(source, 'deny')!;
const decided = observer.decided!;

const baseline = measure((ctx) => ctx.method);
const observe = measure((ctx) => decided(ctx, undefined));
const check = measure((ctx) => filter.apply(ctx));
const both = measure((ctx) => filter.apply(ctx) ?? decided(ctx, undefined));

console.log(`node ${process.version}; ${CALLS.toLocaleString('en')} calls per scenario, best of ${ROUNDS} rounds; ${METHODS} methods x ${CALLERS} callers, all known`);
for (const [name, r] of [
  ['loop only', baseline],
  ['catalog observer (decided)', observe],
  ['undeclared filter (declared method)', check],
  ['filter + observer', both],
] as const) {
  console.log(
    `${name.padEnd(38)} ${(r.ns / 1000).toFixed(3).padStart(7)} µs/call   +${((r.ns - baseline.ns) / 1000).toFixed(3).padStart(6)} µs over the loop   heap ${r.bytesPerCall.toFixed(3)} B/call   gc ${r.gcs}`,
  );
}
const total = observations.grpc.names.get(names[0]!)!.calls;
console.log(`sanity: ${names[0]} counted ${total.toLocaleString('en')} calls from ${observations.grpc.names.get(names[0]!)!.callers.size} callers`);
process.exit(0);
