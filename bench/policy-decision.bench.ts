// Policy decision cost: 1,000 rules (exact, prefix and service-wildcard patterns across
// 200 services) compiled once, then `decide` timed for allowed, denied, default-deny and
// claim-checking calls, with a bare Map lookup as the baseline, and the garbage
// collections seen during each run (none = no allocation worth a GC). Times are the best
// of 5 rounds; compare them with the baseline, as absolute times on a shared machine are noise.
// Run: node --import tsx bench/policy-decision.bench.ts [iterations]
import { PerformanceObserver, performance } from 'node:perf_hooks';
import type { VerifiedJwt } from '../sidecar/authn/verified-jwt.js';
import { compilePolicies } from '../sidecar/policy/compile.js';
import { parsePolicySources, type PolicySource } from '../sidecar/policy/load.js';
import type { CallFacts, Decision, PolicySnapshot } from '../sidecar/policy/model.js';

const SERVICES = 200;
const DOCUMENTS = 10;
const ITERATIONS = Number(process.argv[2] ?? 1_000_000);

const service = (i: number) => `bench.s${i}.v1.Service${i}`;
const frontend = (i: number) => `spiffe://cluster.local/ns/web${i % 7}/sa/frontend${i}`;

/** Five rules per service: two exact, two prefixes (one longer), one service wildcard. */
function rules(i: number): string[] {
  const svc = service(i);
  const people = `["${frontend(i)}", "${frontend(i + 1)}", "${frontend(i + 2)}", "spiffe://cluster.local/ns/ops${i % 5}/*"]`;
  const deny = `deny: [{ principals: ["spiffe://cluster.local/ns/sandbox/*"] }]`;
  return [
    `{ methods: ["${svc}/Get"], allow: [{ principals: ${people} }], ${deny}, timeout: 2s }`,
    `{ methods: ["${svc}/Put"], allow: [{ principals: ["spiffe://cluster.local/ns/web${i % 7}/*"], jwt: { provider: corp, claims: { scope: "orders:write", "realm_access.roles": [admin, ops] } } }], ${deny} }`,
    `{ methods: ["${svc}/List*"], allow: [{ principals: ${people} }], rateLimit: { requests: 100, per: 1s } }`,
    `{ methods: ["${svc}/ListAll*"], allow: [{ principals: ["*"] }], ${deny} }`,
    `{ methods: ["${svc}/*"], allow: [{ principals: ["spiffe://cluster.local/ns/ops${i % 5}/*"] }], ${deny} }`,
  ];
}

function sources(): PolicySource[] {
  const docs: PolicySource[] = [];
  for (let d = 0; d < DOCUMENTS; d++) {
    const lines = ['apiVersion: meshward.dev/v1alpha1', 'kind: Policy', `metadata: { name: bench-${d} }`, 'spec:', '  grpc:'];
    for (let i = d; i < SERVICES; i += DOCUMENTS) for (const r of rules(i)) lines.push(`    - ${r}`);
    docs.push({ file: `bench-${d}.yaml`, text: `${lines.join('\n')}\n` });
  }
  return docs;
}

function jwt(i: number): VerifiedJwt {
  return {
    provider: 'corp',
    payload: { sub: `user${i}`, scope: 'openid profile orders:read orders:write', realm_access: { roles: ['user', 'ops'] } },
    subject: `user${i}`,
    expiresAt: Date.now() + 3_600_000,
  };
}

/**
 * 64 distinct calls per scenario, so lookups do not all hit one key. Strings are made the
 * way the sidecar makes them: the method is a slice of `:path` (grpc/path.ts), the
 * principal a slice of the certificate's subjectAltName (identity/peer-identity.ts).
 * (V8 compares concatenated "cons" strings several times slower; real facts are slices.)
 */
function calls(make: (i: number) => CallFacts): CallFacts[] {
  return Array.from({ length: 64 }, (_, k) => {
    const f = make((k * 37) % SERVICES);
    const principal = f.principal === undefined ? undefined : `URI:${f.principal}, DNS:x`.slice(4, 4 + f.principal.length);
    return { method: `/${f.method}`.slice(1), principal, jwt: f.jwt };
  });
}

const scenarios: [name: string, expect: string, facts: CallFacts[]][] = [
  ['allowed, exact method, exact principal', 'allow/allowed', calls((i) => ({ method: `${service(i)}/Get`, principal: frontend(i + 2), jwt: undefined }))],
  ['allowed, longest prefix, "*"', 'allow/allowed', calls((i) => ({ method: `${service(i)}/ListAllOrders`, principal: frontend(i), jwt: undefined }))],
  ['allowed, service wildcard, principal prefix', 'allow/allowed', calls((i) => ({ method: `${service(i)}/Delete`, principal: `spiffe://cluster.local/ns/ops${i % 5}/sa/oncall`, jwt: undefined }))],
  ['allowed, JWT claims (scope item + array membership)', 'allow/allowed', calls((i) => ({ method: `${service(i)}/Put`, principal: frontend(i), jwt: jwt(i) }))],
  ['denied by rule (deny entry)', 'deny/denied_by_rule', calls((i) => ({ method: `${service(i)}/Get`, principal: 'spiffe://cluster.local/ns/sandbox/sa/x', jwt: undefined }))],
  ['denied, no allow entry matches', 'deny/no_allow_match', calls((i) => ({ method: `${service(i)}/List`, principal: 'spiffe://cluster.local/ns/other/sa/x', jwt: undefined }))],
  ['denied, JWT required but missing', 'deny/jwt_required', calls((i) => ({ method: `${service(i)}/Put`, principal: frontend(i), jwt: undefined }))],
  ['default deny (no rule for the method)', 'deny/default_deny', calls((i) => ({ method: `bench.unknown${i}.v1.Nope/Call`, principal: frontend(i), jwt: undefined }))],
];

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

/** Lets the GC observer deliver its entries. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const ROUNDS = 5;

/**
 * ns per call: the best of ROUNDS rounds of n/ROUNDS calls (this machine is shared, so the
 * fastest round is the least disturbed one), and the GCs seen during all rounds.
 */
async function time(run: (n: number) => number, n: number): Promise<{ ns: number; gcs: number; sink: number }> {
  run(Math.min(n, 200_000)); // warm up: let V8 optimize
  await settle();
  const before = gcs;
  const per = Math.ceil(n / ROUNDS);
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    sink += run(per);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / per);
  }
  await settle();
  return { ns: best, gcs: gcs - before, sink };
}

function decideLoop(snapshot: PolicySnapshot, facts: readonly CallFacts[]): (n: number) => number {
  return (n) => {
    let sink = 0;
    for (let i = 0; i < n; i++) {
      const d: Decision = snapshot.decide(facts[i & 63]!);
      sink += d.reason.length;
    }
    return sink;
  };
}

async function main(): Promise<void> {
  const texts = sources();
  const t0 = performance.now();
  const loaded = parsePolicySources(texts);
  const t1 = performance.now();
  if (!loaded.ok) throw new Error(loaded.problems.slice(0, 5).join('\n'));
  const snapshot = compilePolicies(loaded);
  const t2 = performance.now();
  const ruleCount = loaded.policies.reduce((n, p) => n + p.value.spec.grpc.length, 0);
  console.log(`node ${process.version}; ${ruleCount} rules, ${snapshot.grpc.length} patterns, ${SERVICES} services, ${DOCUMENTS} documents`);
  console.log(`load+validate ${(t1 - t0).toFixed(1)} ms, compile ${(t2 - t1).toFixed(1)} ms; ${ITERATIONS.toLocaleString('en')} decisions per scenario\n`);

  // An unreported first run: the load's garbage is collected here, not in a scenario.
  await time(decideLoop(snapshot, scenarios[0]![2]), ITERATIONS);
  const results: [name: string, ns: number, gcs: number][] = [];
  for (const [name, expect, facts] of scenarios) {
    const got = snapshot.decide(facts[0]!);
    if (`${got.decision}/${got.reason}` !== expect) throw new Error(`${name}: expected ${expect}, got ${got.decision}/${got.reason}`);
    const r = await time(decideLoop(snapshot, facts), ITERATIONS);
    results.push([name, r.ns, r.gcs]);
  }
  // Baseline, measured last (after the load's garbage is collected): a bare Map lookup of
  // the method name in the same loop shape.
  const map = new Map(snapshot.grpc.map((r) => [r.pattern, r] as const));
  const baseFacts = scenarios[0]![2];
  const base = await time((n) => {
    let sink = 0;
    for (let i = 0; i < n; i++) sink += map.get(baseFacts[i & 63]!.method) === undefined ? 0 : 1;
    return sink;
  }, ITERATIONS);
  console.log(`${'baseline: Map.get(method)'.padEnd(52)} ${base.ns.toFixed(1).padStart(7)} ns   gc ${base.gcs}`);
  for (const [name, ns, gcCount] of results) {
    console.log(`${name.padEnd(52)} ${ns.toFixed(1).padStart(7)} ns   gc ${gcCount}   (${(ns / base.ns).toFixed(1)}x baseline)`);
  }
}

await main();
process.exit(0);
