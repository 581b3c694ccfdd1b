// Rate limits shared through Redis (issue 4): a private redis-server and two built sidecars
// in front of one echo app — one with failMode closed, one with failMode open — so one
// combined limit, and Redis stopped (SIGSTOP), killed and brought back, are seen from both.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { methodPaths } from '../demo/proto.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { adminClient, closeAllClients, echoClient, ping, unary } from './support/grpc-clients.js';
import { RedisRateLimiter } from '../sidecar/ratelimit/redis-rate-limiter.js';
import { RedisLimitStore, UNAVAILABLE as UNAVAILABLE_RESULT } from '../sidecar/ratelimit/redis-store.js';
import type { RateLimitRule } from '../sidecar/policy/model.js';
import { startRedis, type RedisServer } from './support/redis-server.js';
import { decodeStatusDetails } from './support/rpc-status.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, issueSvid, makePki, type Pki, type Svid } from './support/tls-fixtures.js';

const OK = 0;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;
const STORE_TIMEOUT_MS = 100;
/** What a call may take on top of the store timeout here (mTLS, two processes, a busy machine). */
const SLACK_MS = 400;

// 5 per hour, not per minute: a run slowed by a loaded machine must not see a refill (one
// token per 12 s at 5/min) where the tests count a spent budget.
const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: shared }
spec:
  grpc:
    - methods: ["meshward.demo.v1.Echo/Unary"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 5, per: 1h, by: principal }
    - methods: ["meshward.demo.v1.Admin/Ping"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 100000, per: 1s, by: global }
`;

const ids = ['alice', 'bob', 'carol', 'dave'] as const;
type Who = (typeof ids)[number];

let dir: string;
let pki: Pki;
let svids: Record<Who, Svid>;
let app: EchoApp;
let redis: RedisServer;
let closed: SidecarProcess; // failMode: closed
let open: SidecarProcess; // failMode: open

const echo = (s: SidecarProcess, who: Who) => echoClient(s.inbound, clientTls(pki, svids[who]), { servername: 'orders' });
const admin = (s: SidecarProcess) => adminClient(s.inbound, clientTls(pki, svids.dave), { servername: 'orders' });
const appCalls = (path: string) => app.calls.filter((c) => c.method === path).length;
const logCount = (s: SidecarProcess, msg: string) => s.logs().filter((l) => l.msg === msg).length;

/** Polls (bounded) until `cond` holds. */
async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A sample of the sidecar's /metrics, e.g. meshward_ratelimit_store_up. */
async function metric(s: SidecarProcess, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://${s.admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function timedPing(s: SidecarProcess): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const r = await ping(admin(s), { message: 'p' });
  return { status: r.status, ms: performance.now() - t0 };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-limits-redis-'));
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'shared.yaml'), POLICY);
  pki = await makePki(join(dir, 'pki'));
  const issued = await Promise.all(
    ids.map((name) => issueSvid(pki.dir, name, { certPem: pki.ca.certPem, keyPem: pki.ca.keyPem }, { spiffeId: `spiffe://cluster.local/ns/web/sa/${name}` })),
  );
  svids = Object.fromEntries(ids.map((name, i) => [name, issued[i]!])) as Record<Who, Svid>;
  [app, redis] = await Promise.all([startEchoApp(), startRedis()]);
  const config = (failMode: 'open' | 'closed') =>
    writeSidecarConfig(dir, {
      appPort: app.port,
      pki,
      fileName: `${failMode}.yaml`,
      extra: `policies: [policies/]\nrateLimit: { store: redis, redis: { url: "${redis.url}", failMode: ${failMode}, timeout: ${STORE_TIMEOUT_MS}ms } }\n`,
    });
  [closed, open] = await Promise.all([startSidecar(await config('closed')), startSidecar(await config('open'))]);
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('one limit across replicas', () => {
  test('two sidecars sharing one Redis enforce one combined limit (5 per hour)', async () => {
    const before = appCalls(methodPaths.unary);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await unary(echo(i % 2 === 0 ? closed : open, 'alice'), { message: `a${i}` })).status);
    assert.deepEqual(statuses, [0, 0, 0, 0, 0, 8, 8, 8, 8, 8], 'calls alternate between the two sidecars');
    assert.equal(appCalls(methodPaths.unary) - before, 5, 'refused calls never reached the app');
  });

  test('the refusal decodes to RetryInfo and QuotaFailure; another principal is not limited', async () => {
    const r = await unary(echo(open, 'alice'), { message: 'x' });
    assert.equal(r.status, RESOURCE_EXHAUSTED);
    const s = decodeStatusDetails(r.metadata['grpc-status-details-bin']);
    assert.equal(s.retryDelayMs, 720_000); // one token per 3600 s / 5
    assert.deepEqual(s.violations, [{ subject: 'principal', description: 'rate limit: 5 requests per 1h' }]);
    assert.equal((await unary(echo(closed, 'bob'), { message: 'b' })).status, OK);
  });
});

describe('the Redis limiter in process (Bottleneck against this Redis)', () => {
  const rule = (id: string, requests: number, perMs: number): RateLimitRule => ({ rule: id, mode: 'enforce', requests, perMs, burst: undefined, by: { kind: 'global' } });
  const allowedOf = async (l: RedisRateLimiter, n: number): Promise<number> => {
    let allowed = 0;
    for (let i = 0; i < n; i++) if ((await l.take('')) === undefined) allowed++;
    return allowed;
  };

  test('after idle the bucket holds exactly its capacity (no extra token at the refill cap)', async () => {
    const store = new RedisLimitStore({ url: redis.url, failMode: 'closed', timeoutMs: 500 });
    try {
      assert.ok(await store.connected(2000));
      // A token every 500 ms: slow enough that the five calls of one burst (a few ms each,
      // more on a loaded machine) never see a refill between them.
      const l = new RedisRateLimiter(rule('cap:grpc[0]', 3, 1500), store, { maxKeys: 10 });
      assert.equal(await allowedOf(l, 5), 3);
      await new Promise((r) => setTimeout(r, 2000)); // refilled to the cap, with refill ticks due
      assert.equal(await allowedOf(l, 5), 3, 'with reservoirIncreaseMaximum = capacity, Bottleneck would allow 4 here');
      l.close();
    } finally {
      await store.close();
    }
  });

  test('keys gone from Redis under a live handle (expired, or Redis emptied): recreated, the store stays up', async () => {
    const store = new RedisLimitStore({ url: redis.url, failMode: 'closed', timeoutMs: 500 });
    try {
      assert.ok(await store.connected(2000));
      const l = new RedisRateLimiter(rule('flush:grpc[0]', 2, 60_000), store, { maxKeys: 10 });
      assert.equal(await allowedOf(l, 3), 2);
      const keys = await store.client.keys('b_meshward:flush:grpc*');
      assert.ok(keys.length > 0);
      await store.client.del(...keys);
      assert.equal(await allowedOf(l, 3), 2, 'a fresh bucket');
      assert.equal(store.status().outages, 0, 'stale state is not an outage');
      l.close();
    } finally {
      await store.close();
    }
  });
});

describe('one outage, one pair of log lines (issue 21)', () => {
  /** Runs `fn` with this process's log lines (JSON on stderr) captured. */
  async function withLogs(fn: (lines: () => Array<Record<string, unknown>>) => Promise<void>): Promise<void> {
    const write = process.stderr.write;
    const captured: string[] = [];
    process.stderr.write = ((chunk: string | Uint8Array) => (captured.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await fn(() => captured.flatMap((c) => c.split('\n')).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>));
    } finally {
      process.stderr.write = write;
    }
  }
  const slow = (ms: number, fail = false) => () => new Promise<string>((resolve, reject) => setTimeout(() => (fail ? reject(new Error('late')) : resolve('late')), ms));

  test('a relapse while the store settles, and a failure arriving after its timeout, are the same outage', async () => {
    const store = new RedisLimitStore({ url: redis.url, failMode: 'closed', timeoutMs: 20, probeIntervalMs: 10 });
    try {
      assert.ok(await store.connected(2000));
      await withLogs(async (lines) => {
        const count = (msg: string) => lines().filter((l) => l.msg === msg).length;
        // A call that fails only after it was answered (timed out): the store comes back
        // (probe every 10 ms) before that failure arrives, which must not take it down again.
        assert.equal(await store.call(slow(150, true)), UNAVAILABLE_RESULT);
        await until(() => store.up, 'the probe to bring the store back');
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(store.up, true, 'a late failure of an answered call does not take the store down');
        assert.equal(store.status().unavailableCalls, 1, 'and is not counted twice');
        // Slow again right after it came back (the refused calls all arrive at once): a relapse.
        assert.equal(await store.call(slow(100)), UNAVAILABLE_RESULT);
        await until(() => count('rate limit store reachable again') === 1, 'the end of the outage', 5_000);
        assert.equal(count('rate limit store unreachable'), 1, JSON.stringify(lines()));
        assert.equal(store.status().outages, 1);
        // A new failure after the store settled is a new outage.
        assert.equal(await store.call(slow(100)), UNAVAILABLE_RESULT);
        assert.equal(count('rate limit store unreachable'), 2);
        assert.equal(store.status().outages, 2);
      });
    } finally {
      await store.close();
    }
  });
});

describe('Redis failures, within the store timeout', () => {
  test('SIGSTOP: failMode closed answers 14, open lets calls through; both log once', async () => {
    assert.equal((await timedPing(closed)).status, OK, 'store up: allowed');
    const beforeClosed = logCount(closed, 'rate limit store unreachable');
    const beforeOpen = logCount(open, 'rate limit store unreachable');
    const before = appCalls(methodPaths.ping);
    redis.pause();
    const first = await timedPing(closed);
    assert.equal(first.status, UNAVAILABLE);
    assert.ok(first.ms < STORE_TIMEOUT_MS + SLACK_MS, `answered in ${first.ms.toFixed(0)} ms`);
    const later = await timedPing(closed);
    assert.equal(later.status, UNAVAILABLE);
    assert.ok(later.ms < STORE_TIMEOUT_MS + SLACK_MS, `answered in ${later.ms.toFixed(0)} ms`);
    assert.equal(appCalls(methodPaths.ping) - before, 0, 'refused calls never reached the app');
    const viaOpen = await timedPing(open);
    assert.equal(viaOpen.status, OK);
    assert.ok(viaOpen.ms < STORE_TIMEOUT_MS + SLACK_MS, `answered in ${viaOpen.ms.toFixed(0)} ms`);
    assert.equal(logCount(closed, 'rate limit store unreachable'), beforeClosed + 1);
    assert.equal(logCount(open, 'rate limit store unreachable'), beforeOpen + 1);
    const line = closed.logs().filter((l) => l.msg === 'rate limit store unreachable').pop()!;
    assert.equal(line.failMode, 'closed');
    assert.equal(await metric(closed, 'meshward_ratelimit_store_up'), 0);
    assert.equal(await metric(closed, 'meshward_ratelimit_store_outages_total'), 1);
    assert.ok((await metric(closed, 'meshward_ratelimit_store_unavailable_calls_total'))! >= 2);
  });

  test('SIGCONT: both recover by themselves, and the shared state is still there', async () => {
    redis.resume();
    await until(() => logCount(closed, 'rate limit store reachable again') >= 1 && logCount(open, 'rate limit store reachable again') >= 1, 'recovery log lines');
    assert.equal((await timedPing(closed)).status, OK);
    assert.equal(await metric(closed, 'meshward_ratelimit_store_up'), 1);
    assert.equal((await unary(echo(closed, 'alice'), { message: 'still over' })).status, RESOURCE_EXHAUSTED, "alice's bucket survived");
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await unary(echo(i % 2 === 0 ? open : closed, 'carol'), { message: `c${i}` })).status);
    assert.deepEqual(statuses, [0, 0, 0, 0, 0, 8, 8]);
  });

  test('killed: closed answers 14 at once, open lets calls through', async () => {
    await redis.kill();
    await until(async () => (await timedPing(closed)).status === UNAVAILABLE, 'the closed sidecar to notice');
    const c = await timedPing(closed);
    assert.equal(c.status, UNAVAILABLE);
    assert.ok(c.ms < STORE_TIMEOUT_MS + SLACK_MS, `answered in ${c.ms.toFixed(0)} ms`);
    const o = await timedPing(open);
    assert.equal(o.status, OK);
    assert.ok(o.ms < STORE_TIMEOUT_MS + SLACK_MS, `answered in ${o.ms.toFixed(0)} ms`);
    const u = await unary(echo(open, 'alice'), { message: 'fail open' });
    assert.equal(u.status, OK, 'fail open: even a caller over its limit passes while the store is away');
  });

  test('Redis back (a new, empty process): recovery by itself, limits resume', async () => {
    const recovered = (s: SidecarProcess) => logCount(s, 'rate limit store reachable again');
    const [rc, ro] = [recovered(closed), recovered(open)];
    await redis.restart();
    await until(() => recovered(closed) > rc && recovered(open) > ro, 'recovery after restart', 8_000);
    assert.equal((await timedPing(closed)).status, OK);
    // A fresh Redis holds no buckets: alice gets her 5 again, counted across both sidecars.
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await unary(echo(i % 2 === 0 ? closed : open, 'alice'), { message: `again${i}` })).status);
    assert.deepEqual(statuses, [0, 0, 0, 0, 0, 8, 8]);
  });
});
