// Throttling cost per call (issue 4). In process: the limits filter as the request path runs
// it (no limit / a memory rate limit / refusing / a concurrency slot), the always-on
// message-size guard, the bare token bucket, and — for the record of why memory rate limits
// do not use it — Bottleneck's local datastore. Against a private redis-server: the Redis
// store's take (sidecar CPU, redis-server CPU, latency), with a bare PING as the floor.
// Run: node --import tsx bench/ratelimit.bench.ts [iterations]   (needs redis-server on PATH)

import Bottleneck from 'bottleneck';
import { readFileSync } from 'node:fs';
import { runChain } from '../sidecar/core/chain.js';
import { bandwidthFilter } from '../sidecar/filters/bandwidth-filter.js';
import { concurrencyFilter } from '../sidecar/filters/concurrency-filter.js';
import { messageSizeFilter } from '../sidecar/filters/message-size-filter.js';
import { rateLimitFilter } from '../sidecar/filters/rate-limit-filter.js';
import type { Call as CallContext } from '../sidecar/pipeline/call.js';
import { dataSnapshotOf, endCall, testCall } from '../sidecar/pipeline/call.test-helper.js';
import { compilePolicies } from '../sidecar/policy/compile.js';
import { parsePolicySources } from '../sidecar/policy/load.js';
import type { PolicySnapshot, RateLimitRule } from '../sidecar/policy/model.js';
import { DEFAULT_MAX_MESSAGE_BYTES, FrameSizeGuard } from '../sidecar/ratelimit/frame-size-guard.js';
import { messageTooLargeRejection } from '../sidecar/ratelimit/limit-rejections.js';
import { LimiterRegistry } from '../sidecar/ratelimit/limiter-registry.js';
import { RedisRateLimiter } from '../sidecar/ratelimit/redis-rate-limiter.js';
import { RedisLimitStore } from '../sidecar/ratelimit/redis-store.js';
import { fullBucket, takeToken } from '../sidecar/ratelimit/token-bucket.js';
import { startRedis } from '../integration/support/redis-server.js';

const ITERATIONS = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = 5;
/** nginx's CPU per call on this machine's two-hop mesh path (FACTS.md): the budget. */
const NGINX_US_PER_CALL = 230;

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: bench }
spec:
  grpc:
    - methods: ["b.v1.S/Open"]
      allow: [ { principals: ["*"] } ]
    - methods: ["b.v1.S/Rate"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 1000000000, per: 1s, by: principal }
    - methods: ["b.v1.S/Refuse"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 1, per: 1h, by: principal }
    - methods: ["b.v1.S/Slot"]
      allow: [ { principals: ["*"] } ]
      concurrency: { max: 1000000, queue: 0 }
`;

function compile(): PolicySnapshot {
  const loaded = parsePolicySources([{ file: 'bench.yaml', text: POLICY }]);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return compilePolicies(loaded);
}

/** 64 calls of 64 principals (slices, as the sidecar makes them from the certificate), over `registry`'s tables. */
function calls(snapshot: PolicySnapshot, method: string, registry: LimiterRegistry): CallContext[] {
  const data = dataSnapshotOf(snapshot, registry);
  return Array.from({ length: 64 }, (_, k) => {
    const id = `spiffe://cluster.local/ns/web/sa/caller${k}`;
    const principal = `URI:${id}, DNS:x`.slice(4, 4 + id.length);
    const c = testCall({ target: `/${method}`, principal, snapshot: data });
    c.decision = snapshot.decide({ method, principal, jwt: undefined });
    return c;
  });
}

async function settle(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

/** ns per op: best of ROUNDS rounds (a shared machine: the least disturbed round). */
async function time(run: (n: number) => number, n = ITERATIONS): Promise<number> {
  run(Math.min(n, 200_000));
  await settle();
  const per = Math.ceil(n / ROUNDS);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    run(per);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / per);
  }
  return best;
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** utime + stime of a process, in µs (from /proc; clock ticks are 10 ms here). */
function procCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const rows: Array<[string, string, string]> = [];
const row = (name: string, value: string, note = ''): void => {
  rows.push([name, value, note]);
  console.log(`${name.padEnd(64)} ${value.padStart(14)}  ${note}`);
};

async function memory(): Promise<void> {
  const snapshot = compile();
  const registry = new LimiterRegistry({ store: undefined, maxKeysPerRule: 10_000, maxRedisKeysPerRule: 1_000 });
  // The four limit filters in their chain order, as the inbound gRPC chain runs them.
  const limits = [rateLimitFilter(() => undefined), concurrencyFilter(() => undefined), bandwidthFilter(), messageSizeFilter()];
  const filter = { apply: (c: CallContext) => runChain(limits, c) };
  // What the pipeline does at the end of a call: released slots, ready for the next round.
  const observer = { ended: (c: CallContext, _o: unknown) => (endCall(c), (c.ended = false)) };
  const chunk = Buffer.alloc(35); // a unary call's request: 5-byte prefix + 30-byte message
  chunk.writeUInt32BE(30, 1);
  const tooLarge = messageTooLargeRejection(DEFAULT_MAX_MESSAGE_BYTES, undefined);
  const outcome = { grpcStatus: 0, httpStatus: 200, rstCode: undefined, durationMs: 1 };

  const loop = (ctxs: CallContext[], after?: (c: CallContext) => void) => (n: number): number => {
    let sink = 0;
    for (let i = 0; i < n; i++) {
      const c = ctxs[i & 63]!;
      if (filter.apply(c) === undefined) sink++;
      after?.(c);
    }
    return sink;
  };

  console.log(`\n-- memory store, in process (${ITERATIONS.toLocaleString('en')} calls per row, best of ${ROUNDS} rounds)`);
  const guard = await time((n) => {
    let sink = 0;
    for (let i = 0; i < n; i++) if (new FrameSizeGuard(DEFAULT_MAX_MESSAGE_BYTES, tooLarge).check(chunk) === undefined) sink++;
    return sink;
  });
  row('message-size guard: allocate + check a 35-byte unary request', `${guard.toFixed(0)} ns`, 'every call');
  const open = await time(loop(calls(snapshot, 'b.v1.S/Open', registry)));
  row('limits filter, rule without limits (guard only)', `${open.toFixed(0)} ns`, 'every call');
  const bucket = fullBucket({ ratePerMs: 1e6, capacity: 1e9 }, 0);
  const shape = { ratePerMs: 1e6, capacity: 1e9 };
  const raw = await time((n) => {
    let sink = 0;
    for (let i = 0; i < n; i++) sink += takeToken(bucket, shape, i);
    return sink;
  });
  row('token bucket alone (takeToken)', `${raw.toFixed(0)} ns`);
  const rate = await time(loop(calls(snapshot, 'b.v1.S/Rate', registry)));
  row('limits filter, memory rate limit by principal (64 callers), allowed', `${rate.toFixed(0)} ns`, `+${(rate - open).toFixed(0)} ns over no limit`);
  const refuseCalls = calls(snapshot, 'b.v1.S/Refuse', registry);
  for (const c of refuseCalls) filter.apply(c);
  const refused = await time(loop(refuseCalls));
  row('limits filter, memory rate limit, refused (prepared Rejection)', `${refused.toFixed(0)} ns`);
  const slot = await time(loop(calls(snapshot, 'b.v1.S/Slot', registry), (c) => observer.ended(c, outcome)));
  row('limits filter, concurrency slot taken + released at call end', `${slot.toFixed(0)} ns`);
  row('memory rate limit as a share of nginx CPU per call', `${(((rate - open) / 1000 / NGINX_US_PER_CALL) * 100).toFixed(3)} %`, `of ${NGINX_US_PER_CALL} µs`);
}

async function bottleneckLocal(): Promise<void> {
  const n = 3_000;
  const limiter = new Bottleneck({ reservoir: 1e9, highWater: 0, strategy: Bottleneck.strategy.OVERFLOW });
  const job = (): Promise<number> => Promise.resolve(1);
  for (let i = 0; i < 300; i++) await limiter.schedule(job);
  const c0 = cpuUs();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await limiter.schedule(job);
  const cpu = (cpuUs() - c0) / n;
  const wall = ((performance.now() - t0) * 1000) / n;
  console.log(`\n-- Bottleneck local datastore (what memory rate limits would cost through it), ${n} calls`);
  row('Bottleneck schedule() with a reservoir, one at a time: CPU', `${cpu.toFixed(0)} µs`);
  row('Bottleneck schedule() with a reservoir, one at a time: latency', `${wall.toFixed(0)} µs`, 'setTimeout(0) hops per job');
  const c1 = cpuUs();
  const t1 = performance.now();
  for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: 100 }, () => limiter.schedule(job)));
  row('Bottleneck schedule(), 100 at a time: CPU per call', `${((cpuUs() - c1) / n).toFixed(0)} µs`, `wall ${(((performance.now() - t1) * 1000) / n).toFixed(0)} µs/call`);
}

async function redis(): Promise<void> {
  const server = await startRedis();
  const pid = server.pid;
  const store = new RedisLimitStore({ url: server.url, failMode: 'closed', timeoutMs: 1000 });
  try {
    if (!(await store.connected(3000))) throw new Error('redis not connected');
    const rule: RateLimitRule = { rule: 'bench:grpc[0]', mode: 'enforce', requests: 1_000_000_000, perMs: 1000, burst: undefined, by: { kind: 'principal' } };
    const limiter = new RedisRateLimiter(rule, store, { maxKeys: 1_000 });
    const keys = Array.from({ length: 64 }, (_, k) => `spiffe://cluster.local/ns/web/sa/caller${k}`);
    const n = 5_000;
    for (let i = 0; i < 500; i++) await limiter.take(keys[i & 63]);
    await store.client.ping();

    const measure = async (label: string, run: () => Promise<void>, note = ''): Promise<void> => {
      const c0 = cpuUs();
      const r0 = procCpuUs(pid);
      const t0 = performance.now();
      await run();
      const wall = ((performance.now() - t0) * 1000) / n;
      row(`${label}: sidecar CPU`, `${((cpuUs() - c0) / n).toFixed(0)} µs`, note);
      row(`${label}: redis-server CPU`, `${((procCpuUs(pid) - r0) / n).toFixed(0)} µs`);
      row(`${label}: wall per call`, `${wall.toFixed(0)} µs`);
    };
    console.log(`\n-- Redis store against a local redis-server (${n} calls per row)`);
    await measure('ioredis PING, one at a time (the floor of any Redis call)', async () => {
      for (let i = 0; i < n; i++) await store.client.ping();
    });
    await measure('Redis rate limit take (Bottleneck incrementReservoir), one at a time', async () => {
      for (let i = 0; i < n; i++) await limiter.take(keys[i & 63]);
    });
    await measure('Redis rate limit take, 32 at a time', async () => {
      for (let i = 0; i < n; i += 32) await Promise.all(Array.from({ length: 32 }, (_, j) => limiter.take(keys[(i + j) & 63])));
    });
    limiter.close();
  } finally {
    await store.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  console.log(`node ${process.version}; ${new Date().toISOString()}`);
  await memory();
  await bottleneckLocal();
  await redis();
}

await main();
process.exit(0);
