// Connection-level hardening (issue 21), against the built sidecar over real mTLS with raw
// frames: connection errors do not leak connections (descriptors, CLOSE-WAIT sockets and
// `maxConnections` slots come back within seconds), a stream over the concurrency limit is
// refused alone, and silent or trickling connections are closed in time — while live ones,
// idle or streaming slowly, are left alone.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { startEchoApp, type EchoApp } from '../demo/echo-app.js';
import { methodPaths } from '../demo/proto.js';
import { writeSidecarConfig } from './support/config-fixtures.js';
import { closeAllClients, echoClient, serverStream, unary } from './support/grpc-clients.js';
import { Flag, FrameType, RawConnection, frame, grpcRequestFields, headerBlock, PREFACE } from './support/h2-frames.js';
import { splitHostPort } from './support/ports.js';
import { TcpState, eventually, fdCount, tcpSockets } from './support/proc-net.js';
import { grpcFrame, tlsConnectOptions } from './support/raw-h2.js';
import { startSidecar, stopAll, type SidecarProcess } from './support/sidecar-process.js';
import { clientTls, makePki, type Pki } from './support/tls-fixtures.js';

let dir: string;
let pki: Pki;
let app: EchoApp;
/** Default limits, except a connection cap small enough to be filled by a leak. */
let sidecar: SidecarProcess;
/** First-request and header-block timeouts of 1 s, so the slow cases are quick to show. */
let strictTimes: SidecarProcess;
let mtls: ReturnType<typeof clientTls>;

const MAX_CONNECTIONS = 100;
const TIMEOUT_MS = 1000;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshward-connguard-'));
  pki = await makePki(join(dir, 'pki'));
  mtls = clientTls(pki, pki.client);
  app = await startEchoApp();
  const withInbound = async (fileName: string, inbound: string): Promise<string> => {
    const config = await writeSidecarConfig(dir, { appPort: app.port, pki, allowAnyAuthenticated: true, fileName });
    const text = await readFile(config, 'utf8');
    await writeFile(config, text.replace('  allowAnyAuthenticated: true\n', `  allowAnyAuthenticated: true\n${inbound}`));
    return config;
  };
  [sidecar, strictTimes] = await Promise.all([
    startSidecar(await withInbound('default-limits.yaml', `  limits:\n    maxConnections: ${MAX_CONNECTIONS}\n`), { timeoutMs: 30_000 }),
    // GraphQL on, so that the listener speaks HTTP/1.1 too (nothing is forwarded in these tests).
    startSidecar(await withInbound('strict-times.yaml', `  graphql: { path: /graphql }\n  limits:\n    firstRequestTimeout: ${TIMEOUT_MS}ms\n    requestHeadersTimeout: ${TIMEOUT_MS}ms\n`), { timeoutMs: 30_000 }),
  ]);
});

after(async () => {
  closeAllClients();
  await stopAll();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

/** HTTP/2 connection errors (RFC 9113 §5.4.1), each answered by GOAWAY from nghttp2. */
const CONNECTION_ERRORS: Record<string, Buffer> = {
  'DATA on stream 0': frame(FrameType.DATA, 0, 0, Buffer.from('x')),
  'CONTINUATION without HEADERS': frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.alloc(0)),
  'PING of length 7': frame(FrameType.PING, 0, 0, Buffer.alloc(7)),
  'garbage after the preface': Buffer.from('this is not an HTTP/2 frame, and neither is this'),
};

describe('connection errors do not leak connections', () => {
  test(`${4 * 75} connections ending in a connection error: descriptors and CLOSE-WAIT back to baseline, new calls work throughout`, async (t) => {
    const good = echoClient(sidecar.inbound, mtls, { servername: 'x' });
    assert.equal((await unary(good, { message: 'baseline' })).status, 0);
    const pid = sidecar.proc.pid!;
    const port = sidecar.inboundPort;
    const baseline = fdCount(pid);
    const kinds = Object.entries(CONNECTION_ERRORS);
    const WAVES = 4;
    const PER_WAVE = 75; // more than the cap of 100 left after two waves if any leaked
    for (let wave = 0; wave < WAVES; wave++) {
      const conns = await Promise.all(
        Array.from({ length: PER_WAVE }, async (_, i) => {
          const [name, bytes] = kinds[i % kinds.length]!;
          const c = await RawConnection.open(sidecar.inbound, mtls);
          c.start();
          c.write(bytes);
          const gotGoaway = await c.until(() => c.goaway() !== undefined, 5000);
          assert.ok(gotGoaway, `${name}: GOAWAY expected`);
          // Half of the clients close their side at once (CLOSE-WAIT on the server if it does
          // not close); the other half never do (the server must close them itself).
          if (i % 2 === 0) c.socket.end();
          return c;
        }),
      );
      // Typically 1-3 s (the guard's sweep runs every second); the bound allows for a loaded machine.
      const lingering = conns.filter((c, i) => i % 2 === 1);
      const waveEnd = Date.now();
      assert.ok(await eventually(() => lingering.every((c) => c.ended), 20_000), `wave ${wave}: the server closed ${lingering.filter((c) => c.ended).length} of ${lingering.length} connections it had sent GOAWAY`);
      for (const c of conns) c.destroy();
      const back = await eventually(() => fdCount(pid) <= baseline + 2 && tcpSockets(port, TcpState.CLOSE_WAIT) === 0, 20_000);
      t.diagnostic(`wave ${wave}: all closed and descriptors back ${Date.now() - waveEnd} ms after the last GOAWAY`);
      assert.ok(back, `wave ${wave}: ${fdCount(pid)} descriptors (baseline ${baseline}), ${tcpSockets(port, TcpState.CLOSE_WAIT)} CLOSE-WAIT sockets`);
      const r = await unary(good, { message: `after wave ${wave}` });
      assert.equal(r.status, 0, r.details);
      // A new connection works too (the cap has room).
      const fresh = echoClient(sidecar.inbound, mtls, { servername: `fresh-${wave}` });
      assert.equal((await unary(fresh, { message: 'new connection' })).status, 0);
      fresh.close();
    }
    assert.equal(sidecar.proc.exitCode, null);
  });
});

describe('a stream over the concurrency limit is refused alone', () => {
  test('stream 101 of a connection limited to 100: REFUSED_STREAM for it, the 100 others complete', async () => {
    const c = await RawConnection.open(sidecar.inbound, mtls);
    try {
      c.start();
      assert.ok(await c.until(() => c.frames.some((f) => f.type === FrameType.SETTINGS && f.flags === 0), 3000));
      c.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
      // Wait for the ACK of our SETTINGS: only then does the limit bind (before it, nghttp2 refuses by itself).
      assert.ok(await c.until(() => c.frames.some((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK), 3000));
      const before = app.calls.length;
      const block = headerBlock(grpcRequestFields(sidecar.inbound, methodPaths.unary));
      const ids = Array.from({ length: 100 }, (_, i) => 1 + 2 * i);
      c.write(...ids.map((id) => frame(FrameType.HEADERS, Flag.END_HEADERS, id, block)));
      assert.ok(await eventually(() => app.calls.length - before === 100, 5000), `${app.calls.length - before} of 100 calls reached the app`);
      const over = 201;
      c.write(frame(FrameType.HEADERS, Flag.END_HEADERS, over, block));
      assert.ok(await c.until(() => c.rstCode(over) !== undefined || c.goaway() !== undefined, 5000), `no RST_STREAM for stream ${over}`);
      assert.equal(c.goaway(), undefined, `GOAWAY code ${c.goawayCode()}: the whole connection was torn down`);
      assert.equal(c.rstCode(over), 7, 'REFUSED_STREAM');
      // The 100 calls in flight finish normally.
      const message = grpcFrame(Buffer.from([0x0a, 0x02, 0x6f, 0x6b])); // EchoRequest { message: "ok" }
      c.write(...ids.map((id) => frame(FrameType.DATA, Flag.END_STREAM, id, message)));
      const ended = (id: number): boolean => c.frames.some((f) => f.streamId === id && f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0);
      assert.ok(await c.until(() => ids.every(ended), 10_000), `${ids.filter(ended).length} of 100 streams got their trailers`);
      assert.deepEqual(ids.filter((id) => c.rstCode(id) !== undefined), []);
      const calls = app.calls.slice(before);
      assert.equal(calls.length, 100, 'the refused stream never reached the app');
      assert.ok(calls.every((call) => call.status === 0), JSON.stringify(calls.map((call) => call.status)));
      // With slots free again, a new stream on the same connection is served.
      c.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 203, block), frame(FrameType.DATA, Flag.END_STREAM, 203, message));
      assert.ok(await c.until(() => ended(203), 5000));
      assert.equal(c.goaway(), undefined);
    } finally {
      c.destroy();
    }
  });

  test('SETTINGS_MAX_CONCURRENT_STREAMS announces the limit that is enforced', async () => {
    const c = await RawConnection.open(sidecar.inbound, mtls);
    try {
      c.start();
      assert.ok(await c.until(() => c.frames.some((f) => f.type === FrameType.SETTINGS && f.flags === 0), 3000));
      const settings = c.frames.find((f) => f.type === FrameType.SETTINGS && f.flags === 0)!.payload;
      const values = new Map<number, number>();
      for (let off = 0; off + 6 <= settings.length; off += 6) values.set(settings.readUInt16BE(off), settings.readUInt32BE(off + 2));
      assert.equal(values.get(0x3), 100, 'maxConcurrentStreams (100)');
    } finally {
      c.destroy();
    }
  });
});

/** Opens a TLS connection speaking `alpn` and returns when the server ends it (ms after open), or undefined after `waitMs`. */
async function closedAfter(alpn: string, waitMs: number, trickle?: Buffer): Promise<number | undefined> {
  const { host, port } = splitHostPort(strictTimes.inbound);
  const socket = tls.connect({ ...tlsConnectOptions(mtls), host, port, ALPNProtocols: [alpn] });
  socket.on('error', () => undefined);
  socket.resume();
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const opened = Date.now();
  let timer: NodeJS.Timeout | undefined;
  if (trickle !== undefined) {
    let i = 0;
    // One byte every 100 ms: a slowloris that is never idle.
    timer = setInterval(() => i < trickle.length && !socket.destroyed && socket.write(trickle.subarray(i, ++i)), 100);
  }
  const ended = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), waitMs);
    socket.once('end', () => (clearTimeout(t), resolve(true)));
    socket.once('close', () => (clearTimeout(t), resolve(true)));
  });
  clearInterval(timer);
  socket.destroy();
  return ended ? Date.now() - opened : undefined;
}

describe('silent and slow connections are closed in time', () => {
  const LATEST = TIMEOUT_MS + 4000; // the timeout, the sweep (a quarter of it) and a loaded machine

  test('an HTTP/2 connection that sends nothing after TLS', async () => {
    const t = await closedAfter('h2', 10_000);
    assert.ok(t !== undefined && t >= TIMEOUT_MS - 100 && t <= LATEST, `closed after ${t} ms`);
  });

  test('an HTTP/2 connection that trickles its preface one byte at a time', async () => {
    const t = await closedAfter('h2', 10_000, Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0)]));
    assert.ok(t !== undefined && t <= LATEST, `closed after ${t} ms`);
  });

  test('an HTTP/1.1 connection that sends nothing, or trickles its request head', async () => {
    const silent = await closedAfter('http/1.1', 10_000);
    assert.ok(silent !== undefined && silent <= LATEST, `silent: closed after ${silent} ms`);
    const slow = await closedAfter('http/1.1', 10_000, Buffer.from(`GET /graphql?query=${'x'.repeat(200)} HTTP/1.1\r\nhost: x\r\n`));
    assert.ok(slow !== undefined && slow <= LATEST, `trickle: closed after ${slow} ms`);
  });

  test('a header block begun after a served request and trickled is cut; other connections are not', async () => {
    const c = await RawConnection.open(strictTimes.inbound, mtls);
    try {
      c.start();
      c.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
      const block = headerBlock(grpcRequestFields(strictTimes.inbound, methodPaths.unary));
      c.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, block), frame(FrameType.DATA, Flag.END_STREAM, 1, grpcFrame(Buffer.alloc(0))));
      assert.ok(await c.until(() => c.frames.some((f) => f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0), 5000), 'the first request is served');
      // Stream 3: the HEADERS frame's header and then its payload, one byte every 100 ms.
      const slow = frame(FrameType.HEADERS, Flag.END_HEADERS, 3, headerBlock(grpcRequestFields(strictTimes.inbound, `${methodPaths.unary}`).concat([['x-pad', 'p'.repeat(100)]])));
      const started = Date.now();
      c.write(slow.subarray(0, 10));
      let i = 10;
      const timer = setInterval(() => i < slow.length - 1 && c.write(slow.subarray(i, ++i)), 100);
      const cut = await c.until(() => c.ended, 10_000);
      clearInterval(timer);
      assert.ok(cut, 'the connection was closed');
      assert.ok(Date.now() - started <= LATEST + 1000, `after ${Date.now() - started} ms`);
    } finally {
      c.destroy();
    }
  });

  test('an idle connection after a request, and a slow server stream, stay open past the timeouts', async () => {
    const client = echoClient(strictTimes.inbound, mtls, { servername: 'idle' });
    assert.equal((await unary(client, { message: 'one' })).status, 0);
    await new Promise((r) => setTimeout(r, 3 * TIMEOUT_MS));
    const second = await unary(client, { message: 'two' });
    assert.equal(second.status, 0, second.details);
    // Gaps between messages longer than every timeout above; the probe PINGs are answered.
    const stream = await serverStream(client, { count: 2, delayMs: 3 * TIMEOUT_MS }, { deadlineMs: 20_000 });
    assert.equal(stream.status, 0, stream.details);
    assert.equal(stream.replies.length, 2);
    client.close();
  });
});
