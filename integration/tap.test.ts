// GET /tap and `meshward tap` end to end (DESIGN §12): the built sidecar with allowed, refused
// and rate-limited calls; the CLI's lines and JSON, filters, the SSE stream as sent, the
// dashboard's JSON views (/overview, /refusals), and a subscriber that stops reading.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startCli } from './support/cli-process.js';
import { runMeshward } from './support/sidecar-process.js';
import { clientId, serverId } from './support/tls-fixtures.js';
import { ALLOWED_METHOD, DENIED_METHOD, JAEGER_URL, LIMITED_METHOD, startTrafficFixture, type TrafficFixture } from './support/traffic-fixture.js';

let t: TrafficFixture;

before(async () => {
  t = await startTrafficFixture('tap');
});
after(async () => {
  await t?.close();
});

function getText(url: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw SSE subscriber: the text as sent; resolves `subscribed` once the hub has it. */
function rawTap(query = ''): { text: () => string; subscribed: Promise<void>; close: () => void } {
  let text = '';
  let onSubscribed: () => void = () => undefined;
  const subscribed = new Promise<void>((r) => (onSubscribed = r));
  const req = request(`${t.adminUrl}/tap${query}`, { agent: false }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      text += c;
      if (text.includes('event: subscribed')) onSubscribed();
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { text: () => text, subscribed, close: () => req.destroy() };
}

describe('meshward tap', () => {
  test('prints one line per call as it ends, without colour when stdout is not a terminal', async () => {
    const tap = startCli(['tap', '--admin', t.adminUrl, '--count', '4']);
    await tap.waitForLine('stderr', /^tapping http:\/\/127\.0\.0\.1:\d+; Ctrl-C to stop$/);
    await t.drive({ allowed: 2, denied: 1 });
    await tap.waitForLine('stdout', new RegExp(DENIED_METHOD.replace('.', '\\.')));
    await t.drive({ allowed: 1 });
    assert.equal(await tap.exited(), 0);
    assert.equal(tap.stdout.length, 4, tap.stdout.join('\n'));
    const allowed = tap.stdout.filter((l) => / ALLOW +meshward\.demo\.v1\.Echo\/Unary /.test(l));
    assert.equal(allowed.length, 3, tap.stdout.join('\n'));
    const denied = tap.stdout.find((l) => l.includes(DENIED_METHOD))!;
    assert.match(denied, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z DENY +meshward\.demo\.v1\.Admin\/Ping /);
    assert.match(denied, new RegExp(`principal=${clientId()} `));
    assert.match(denied, / reason=no_allow_match rule=traffic:grpc\[2\] status=7 duration=[\d.]+ms trace=[0-9a-f]{32}$/);
    for (const l of tap.stdout) assert.doesNotMatch(l, /\x1b\[/, 'no ANSI colour on a pipe');
  });

  test('--json --decision deny: only refusals, as the JSON the sidecar sent', async () => {
    const tap = startCli(['tap', '--admin', t.adminUrl, '--decision', 'deny', '--json', '--count', '3']);
    await tap.waitForLine('stderr', /\(decision=deny\)/);
    await t.drive({ allowed: 3, denied: 1, limited: 1 });
    await t.drive({ denied: 1 });
    assert.equal(await tap.exited(), 0);
    const events = tap.stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(events.length, 3);
    for (const e of events) {
      assert.equal(e.decision, 'deny');
      assert.equal(e.protocol, 'grpc');
      assert.equal(e.principal, clientId());
      assert.equal(typeof e.durationMs, 'number');
      assert.match(String(e.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.match(String(e.traceId), /^[0-9a-f]{32}$/);
    }
    const limited = events.find((e) => e.method === LIMITED_METHOD);
    assert.ok(limited, JSON.stringify(events));
    assert.equal(limited.limited, true);
    assert.equal(limited.status, 8); // RESOURCE_EXHAUSTED
    assert.equal(limited.reason, 'rate_limited');
    const denied = events.filter((e) => e.method === DENIED_METHOD);
    assert.equal(denied.length, 2);
    for (const d of denied) assert.deepEqual([d.limited, d.status, d.reason], [false, 7, 'no_allow_match']);
  });

  test('--method and --principal filters; a bad filter is refused with the reason (exit 1)', async () => {
    const tap = startCli(['tap', '--admin', t.adminUrl, '--method', 'meshward.demo.v1.Admin/*', '--principal', 'spiffe://cluster.local/ns/web/*', '--json', '--count', '1']);
    await tap.waitForLine('stderr', /method=meshward\.demo\.v1\.Admin\/\* principal=spiffe:\/\/cluster\.local\/ns\/web\/\*/);
    await t.drive({ allowed: 2 });
    await t.drive({ denied: 1 });
    assert.equal(await tap.exited(), 0);
    assert.equal(tap.stdout.length, 1);
    assert.equal((JSON.parse(tap.stdout[0]!) as { method: string }).method, DENIED_METHOD);

    const other = startCli(['tap', '--admin', t.adminUrl, '--principal', 'spiffe://cluster.local/ns/ops/*', '--json', '--count', '1']);
    await other.waitForLine('stderr', /principal=/);
    await t.drive({ allowed: 2, denied: 1 });
    other.proc.kill('SIGINT');
    assert.equal(await other.exited(), 0, 'Ctrl-C stops it cleanly');
    assert.deepEqual(other.stdout, [], 'no call came from ns/ops');

    const bad = await runMeshward(['tap', '--admin', t.adminUrl, '--decision', 'maybe']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /HTTP 400: tap: decision: expected one of allow, deny, audit_deny, got "maybe"/);
    const badMethod = await runMeshward(['tap', '--admin', t.adminUrl, '--method', 'x.Y/Z*Q']);
    assert.equal(badMethod.code, 1);
    assert.match(badMethod.stderr, /HTTP 400: tap: method: "\*" is allowed only at the end of the method name/);
  });

  test('usage errors exit 2; --help exits 0; an unreachable sidecar exits 1', async () => {
    const help = await runMeshward(['tap', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: meshward tap --admin URL/);
    assert.equal((await runMeshward(['tap'])).code, 2);
    assert.equal((await runMeshward(['tap', '--admin', t.adminUrl, '--count', '0'])).code, 2);
    assert.equal((await runMeshward(['tap', '--admin', t.adminUrl, '--cert', 'x.crt'])).code, 2);
    const gone = await runMeshward(['tap', '--admin', 'http://127.0.0.1:1']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /cannot connect to http:\/\/127\.0\.0\.1:1/);
  });
});

describe('GET /tap', () => {
  test('Server-Sent Events: subscribed first, then one data line per call, no replay', async () => {
    await t.drive({ allowed: 1 }); // before subscribing: never sent
    const tap = rawTap('?method=' + encodeURIComponent(ALLOWED_METHOD));
    await tap.subscribed;
    await t.drive({ allowed: 2, denied: 1 });
    const deadline = Date.now() + 10_000;
    while ((tap.text().match(/^data: \{/gm) ?? []).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    tap.close();
    const text = tap.text();
    assert.match(text, /^retry: \d+\nevent: subscribed\ndata: \{"filter":\{"method":"meshward\.demo\.v1\.Echo\/Unary"\},"maxBuffered":\d+\}\n\n/);
    const data = [...text.matchAll(/^data: (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!) as Record<string, unknown>).filter((e) => !('filter' in e));
    assert.equal(data.length, 2, text);
    for (const e of data) {
      assert.deepEqual(Object.keys(e).sort(), ['decision', 'durationMs', 'limited', 'method', 'operation', 'principal', 'protocol', 'reason', 'rule', 'status', 'time', 'traceId']);
      assert.deepEqual([e.method, e.decision, e.reason, e.status], [ALLOWED_METHOD, 'allow', 'allowed', 0]);
    }
  });

  test('bad filters are 400 with the reason; the response is an event stream', async () => {
    const bad = await getText(`${t.adminUrl}/tap?principal=frontend`);
    assert.equal(bad.status, 400);
    assert.match(bad.body, /^tap: principal: /);
    const unknown = await getText(`${t.adminUrl}/tap?methods=x`);
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /unknown parameter "methods"/);
    const head = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request(`${t.adminUrl}/tap`, { method: 'HEAD', agent: false }, (res) => (res.resume(), resolve(res.headers)));
      req.on('error', reject);
      req.end();
    });
    assert.match(String(head['content-type']), /^text\/event-stream/);
  });

  test('a subscriber that stops reading never slows calls; it is dropped from the count when it goes', async () => {
    // A client that sends the request and never reads the answer.
    const { port } = new URL(t.adminUrl);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('GET /tap HTTP/1.1\r\nhost: admin\r\n\r\n');
    socket.pause();
    const overview = async () => JSON.parse((await getText(`${t.adminUrl}/overview`)).body) as { tap: { subscribers: number } };
    const deadline = Date.now() + 5000;
    while ((await overview()).tap.subscribers < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await overview()).tap.subscribers, 1);
    const started = performance.now();
    for (let i = 0; i < 5; i++) await t.drive({ allowed: 40 });
    const ms = performance.now() - started;
    assert.ok(ms < 15_000, `200 calls took ${ms} ms with a stalled subscriber`);
    socket.destroy();
    const gone = Date.now() + 5000;
    while ((await overview()).tap.subscribers !== 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await overview()).tap.subscribers, 0);
  });
});

describe('the dashboard views', () => {
  test('/refusals: the newest refusals, also from before anyone subscribed', async () => {
    await t.drive({ denied: 1 });
    const res = await getText(`${t.adminUrl}/refusals`);
    assert.equal(res.status, 200);
    const refusals = JSON.parse(res.body) as Array<Record<string, unknown>>;
    assert.ok(refusals.length >= 1);
    assert.equal(refusals[0]!.method, DENIED_METHOD);
    assert.equal(refusals[0]!.decision, 'deny');
    const times = refusals.map((r) => String(r.time));
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    assert.ok(refusals.every((r) => r.decision === 'deny'));
  });

  test('/overview: identity, certificate expiry, mTLS mode, policy version, Jaeger', async () => {
    const res = await getText(`${t.adminUrl}/overview`);
    const o = JSON.parse(res.body) as Record<string, any>;
    assert.equal(o.identity.spiffeId, serverId());
    assert.ok(Date.parse(o.identity.notAfter) > Date.now());
    assert.equal(o.inbound.mtls, 'strict');
    assert.equal(o.admin.mtlsRequired, false);
    assert.match(o.policies.version, /^[0-9a-f]+$/);
    assert.equal(o.policies.lastError, undefined);
    assert.equal(o.jaegerUrl, JAEGER_URL);
    assert.equal(o.service, 'orders');
  });

  test('/metrics counts tap subscribers', async () => {
    const metrics = await getText(`${t.adminUrl}/metrics`);
    assert.match(metrics.body, /^meshward_tap_subscribers 0$/m);
    assert.match(metrics.body, /^meshward_tap_events_dropped_total \d+$/m);
  });
});
