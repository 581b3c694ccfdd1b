// Throttling end to end with the memory store (issue 4): the built sidecar with limit
// policies in front of the echo app, which records every call it receives. Rate limits
// (exact counts, burst, refill, per-principal isolation, the RESOURCE_EXHAUSTED details),
// concurrency (queue, queue timeout, release), bandwidth (a stream slowed to the rate),
// maxMessageBytes (refused before the app sees the message) and audit mode.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { methodPaths } from '../demo/proto.js';
import { auditAfter, readAudit } from './support/audit-file.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { adminClient, bidi, clientStream, closeAllClients, echoClient, ping, serverStream, unary } from './support/grpc-clients.js';
import { decodeStatusDetails } from './support/rpc-status.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, issueSvid, makePki, type Pki, type Svid } from './support/tls-fixtures.js';

const OK = 0;
const RESOURCE_EXHAUSTED = 8;

const ALICE = 'spiffe://cluster.local/ns/web/sa/alice';
const BOB = 'spiffe://cluster.local/ns/web/sa/bob';
const CAROL = 'spiffe://cluster.local/ns/web/sa/carol';

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: limits }
spec:
  grpc:
    - methods: ["meshward.demo.v1.Echo/Unary"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 5, per: 1m, burst: 2, by: principal }
    - methods: ["meshward.demo.v1.Admin/Ping"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 10, per: 1s, by: global }
    - methods: ["meshward.demo.v1.Echo/ClientStream"]
      allow: [ { principals: ["*"] } ]
      concurrency: { max: 1, queue: 1, queueTimeout: 300ms }
      maxMessageBytes: 64Ki
      bandwidth: { bytesPerSecond: 512Ki, by: principal }
    - methods: ["meshward.demo.v1.Echo/ServerStream"]
      allow: [ { principals: ["*"] } ]
      bandwidth: { bytesPerSecond: 512Ki, by: principal }
    - methods: ["meshward.demo.v1.Echo/Bidi"]
      allow: [ { principals: ["*"] } ]
      rateLimit: { requests: 1, per: 1m, by: principal, mode: audit }
`;

let dir: string;
let auditFile: string;
let pki: Pki;
let alice: Svid;
let bob: Svid;
let carol: Svid;
let app: EchoApp;
let sidecar: SidecarProcess;

const echo = (svid: Svid) => echoClient(sidecar.inbound, clientTls(pki, svid), { servername: 'orders' });

/** Polls (bounded) until `cond` holds. */
async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const appCalls = (path: string) => app.calls.filter((c) => c.method === path).length;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-limits-'));
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'limits.yaml'), POLICY);
  auditFile = join(dir, 'audit.log');
  pki = await makePki(join(dir, 'pki'));
  [alice, bob, carol] = await Promise.all(
    [ALICE, BOB, CAROL].map((id) => issueSvid(pki.dir, id.split('/').pop()!, { certPem: pki.ca.certPem, keyPem: pki.ca.keyPem }, { spiffeId: id })),
  ) as [Svid, Svid, Svid];
  app = await startEchoApp();
  const config = await writeSidecarConfig(dir, { appPort: app.port, pki, extra: 'policies: [policies/]\naudit: { file: audit.log }\n' });
  sidecar = await startSidecar(config);
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('rate limit (memory store)', () => {
  test('exactly requests + burst calls pass in the window; the rest are 8 and never reach the app', async () => {
    const client = echo(alice);
    const before = appCalls(methodPaths.unary);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await unary(client, { message: `a${i}` })).status);
    assert.deepEqual(statuses, [0, 0, 0, 0, 0, 0, 0, 8, 8, 8], '5 per minute + burst 2');
    assert.equal(appCalls(methodPaths.unary) - before, 7, 'refused calls never reached the app');
  });

  test("one caller's flood does not limit another (per principal)", async () => {
    const r = await unary(echo(bob), { message: 'b' });
    assert.equal(r.status, OK, r.details);
    const again = await unary(echo(alice), { message: 'still limited' });
    assert.equal(again.status, RESOURCE_EXHAUSTED);
  });

  test('the refusal carries google.rpc.Status with RetryInfo and QuotaFailure, and is audited with its rule', async () => {
    const audits = (await readAudit(auditFile)).length;
    const r = await unary(echo(alice), { message: 'x' });
    assert.equal(r.status, RESOURCE_EXHAUSTED);
    assert.equal(r.details, 'rate limit exceeded', 'short and generic');
    const s = decodeStatusDetails(r.metadata['grpc-status-details-bin']);
    assert.equal(s.code, RESOURCE_EXHAUSTED);
    assert.equal(s.message, 'rate limit exceeded');
    assert.deepEqual(s.types, ['type.googleapis.com/google.rpc.RetryInfo', 'type.googleapis.com/google.rpc.QuotaFailure']);
    assert.equal(s.retryDelayMs, 12_000, 'one token every 60 s / 5');
    assert.deepEqual(s.violations, [{ subject: 'principal', description: 'rate limit: 5 requests per 1m (burst 2)' }]);
    assert.ok(!JSON.stringify(s).includes('limits:grpc'), 'the rule id is not sent to the caller');
    const [rec] = await auditAfter(auditFile, audits, 1);
    assert.equal(rec?.decision, 'deny');
    assert.equal(rec?.reason, 'rate_limited');
    assert.equal(rec?.rule, 'limits:grpc[0]');
    assert.equal(rec?.principal, ALICE);
    assert.equal(rec?.status, RESOURCE_EXHAUSTED);
  });

  test('refill: 10 per second shared by all (global) — a 1.5 s run allows 10 + 15 (±1)', async () => {
    const clients = [adminClient(sidecar.inbound, clientTls(pki, alice), { servername: 'orders' }), adminClient(sidecar.inbound, clientTls(pki, bob), { servername: 'orders' })];
    await Promise.all(clients.map((c) => ping(c, { message: 'warm' }))); // connections up; may use 2 tokens
    await new Promise((r) => setTimeout(r, 1_100)); // let the bucket fill again (10 tokens in 1 s)
    const start = performance.now();
    let allowed = 0;
    let refused = 0;
    for (let i = 0; performance.now() - start < 1_500; i++) {
      const r = await ping(clients[i % 2]!, { message: 'p' });
      if (r.status === OK) allowed++;
      else if (r.status === RESOURCE_EXHAUSTED) refused++;
      else assert.fail(`unexpected status ${r.status} ${r.details}`);
      await new Promise((res) => setTimeout(res, 10));
    }
    const elapsed = performance.now() - start;
    const expected = 10 + (10 * elapsed) / 1000;
    assert.ok(Math.abs(allowed - expected) <= 1.5, `allowed ${allowed}, expected ${expected.toFixed(1)} over ${elapsed.toFixed(0)} ms`);
    assert.ok(refused > 0);
  });
});

describe('concurrency (max 1, queue 1, queue timeout 300 ms)', () => {
  test('a queued call waits for the slot and then runs', async () => {
    const client = echo(carol);
    const before = appCalls(methodPaths.clientStream);
    const first = clientStream(client, [{ message: 'first', sleepMs: 150 }]);
    await until(() => appCalls(methodPaths.clientStream) > before, 'the first call to reach the app');
    const t0 = performance.now();
    const second = await clientStream(client, [{ message: 'second' }]);
    const waited = performance.now() - t0;
    assert.equal((await first).status, OK);
    assert.equal(second.status, OK, second.details);
    assert.ok(waited >= 80, `the second call waited for the slot (${waited.toFixed(0)} ms)`);
  });

  test('one call queues and times out, the one after finds the queue full; neither reaches the app', async () => {
    const client = echo(carol);
    const before = appCalls(methodPaths.clientStream);
    const audits = (await readAudit(auditFile)).length;
    const holder = clientStream(client, [{ message: 'hold', sleepMs: 800 }]);
    await until(() => appCalls(methodPaths.clientStream) > before, 'the holder to reach the app');
    const timed = async () => {
      const t0 = performance.now();
      const r = await clientStream(client, [{ message: 'waiting' }]);
      return { status: r.status, ms: performance.now() - t0 };
    };
    const [a, b] = await Promise.all([timed(), timed()]);
    assert.equal(a.status, RESOURCE_EXHAUSTED);
    assert.equal(b.status, RESOURCE_EXHAUSTED);
    const [fast, slow] = a.ms < b.ms ? [a, b] : [b, a];
    assert.ok(fast.ms < 250, `queue full: refused at once (${fast.ms.toFixed(0)} ms)`);
    assert.ok(slow.ms >= 250 && slow.ms < 700, `queue timeout: refused after ~300 ms (${slow.ms.toFixed(0)} ms)`);
    assert.equal(appCalls(methodPaths.clientStream) - before, 1, 'only the holder reached the app');
    const reasons = (await auditAfter(auditFile, audits, 2)).map((r) => r.reason).sort();
    assert.deepEqual(reasons, ['concurrency_queue_full', 'concurrency_queue_timeout']);
    assert.equal((await holder).status, OK);
    // The holder's slot was released when it ended.
    assert.equal((await clientStream(client, [{ message: 'after' }])).status, OK);
  });
});

describe('maxMessageBytes (64 KiB on ClientStream; 4 MiB default elsewhere)', () => {
  test('a message over the limit is refused with 8; the app never receives it', async () => {
    const client = echo(carol);
    const before = app.calls.length;
    const audits = (await readAudit(auditFile)).length;
    const r = await clientStream(client, [{ message: 'big', payload: Buffer.alloc(70 * 1024, 1) }]);
    assert.equal(r.status, RESOURCE_EXHAUSTED, r.details);
    assert.equal(r.details, 'message too large');
    const seen = app.calls.slice(before).filter((c) => c.method === methodPaths.clientStream);
    assert.ok(seen.every((c) => c.received === 0), `the app received no message: ${JSON.stringify(seen.map((c) => c.received))}`);
    const [rec] = await auditAfter(auditFile, audits, 1);
    assert.equal(rec?.reason, 'message_too_large');
    assert.equal(rec?.status, RESOURCE_EXHAUSTED);
  });

  test('messages under the limit pass; the stream is refused at the first one over it', async () => {
    const client = echo(carol);
    const before = app.calls.length;
    const r = await clientStream(client, [{ message: 'ok1', payload: Buffer.alloc(30_000) }, { message: 'ok2', payload: Buffer.alloc(60_000) }, { message: 'big', payload: Buffer.alloc(66_000) }]);
    assert.equal(r.status, RESOURCE_EXHAUSTED);
    const seen = app.calls.slice(before).find((c) => c.method === methodPaths.clientStream);
    assert.ok(seen === undefined || seen.received <= 2, `the app got at most the two small messages (${seen?.received})`);
    assert.equal((await clientStream(client, [{ message: 'fine', payload: Buffer.alloc(60_000) }])).status, OK);
  });

  test('without a rule value, 4 MiB: 3 MiB passes, 5 MiB is refused before the app sees it', async () => {
    const client = echo(carol); // Unary: carol has not used her rate limit yet
    const okReply = await unary(client, { message: 'x'.repeat(3 * 1024 * 1024) });
    assert.equal(okReply.status, OK, okReply.details);
    const before = app.calls.length;
    const big = await unary(client, { message: 'x'.repeat(5 * 1024 * 1024) });
    assert.equal(big.status, RESOURCE_EXHAUSTED);
    assert.equal(big.details, 'message too large');
    const seen = app.calls.slice(before).filter((c) => c.method === methodPaths.unary);
    assert.ok(seen.every((c) => c.received === 0), 'the app never got the 5 MiB message');
  });
});

describe('bandwidth (512 KiB/s per principal: ServerStream replies, ClientStream requests)', () => {
  test('a 1.5 MiB stream is slowed to the configured rate (±20%), not cut', async () => {
    const times: number[] = [];
    const r = await serverStream(echo(bob), { count: 48, payloadSize: 32 * 1024 }, { collect: false, deadlineMs: 20_000, onMessage: () => times.push(performance.now()) });
    assert.equal(r.status, OK, r.details);
    assert.equal(r.count, 48);
    // Past the first tenth of a second's burst: bytes between message 6 and the last, over the time between.
    const bytes = (47 - 6) * 32 * 1024;
    const seconds = (times[47]! - times[6]!) / 1000;
    const rate = bytes / seconds;
    assert.ok(Math.abs(rate - 512 * 1024) <= 0.2 * 512 * 1024, `measured ${(rate / 1024).toFixed(0)} KiB/s`);
  });

  test('a 1 MiB client stream (tiny reply) is slowed on the way in (±20%)', async () => {
    const reqs = Array.from({ length: 32 }, (_, i) => ({ message: `m${i}`, payload: Buffer.alloc(32 * 1024, 7) }));
    const t0 = performance.now();
    const r = await clientStream(echo(alice), reqs, { deadlineMs: 20_000 });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.status, OK, r.details);
    assert.equal(r.reply?.count, 32);
    // The first tenth of a second's worth passes at once (the bucket's burst).
    const rate = (32 * 32 * 1024 - 0.1 * 512 * 1024) / seconds;
    assert.ok(Math.abs(rate - 512 * 1024) <= 0.2 * 512 * 1024, `measured ${(rate / 1024).toFixed(0)} KiB/s over ${seconds.toFixed(2)} s`);
  });
});

describe('mode: audit on a limit', () => {
  test('calls over an audit-mode limit pass, and each is recorded as audit_deny', async () => {
    const client = echo(alice);
    const audits = (await readAudit(auditFile)).length;
    const before = appCalls(methodPaths.bidi);
    for (let i = 0; i < 3; i++) assert.equal((await bidi(client, [{ message: `m${i}` }])).status, OK);
    assert.equal(appCalls(methodPaths.bidi) - before, 3);
    const recs = await auditAfter(auditFile, audits, 2);
    assert.equal(recs.length, 2, 'the 2nd and 3rd calls would have been refused');
    for (const rec of recs) {
      assert.equal(rec.decision, 'audit_deny');
      assert.equal(rec.reason, 'rate_limited');
      assert.equal(rec.rule, 'limits:grpc[4]');
      assert.equal(rec.status, 0);
    }
  });
});

describe('after all of the above', () => {
  test('the sidecar drains and exits 0: no refused or throttled stream was left open', async () => {
    closeAllClients();
    assert.equal(await sidecar.stop(), 0);
  });
});
