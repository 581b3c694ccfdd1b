// The one pipeline, over an in-memory exchange: both phases in order, replies and outcomes
// through the exchange, the deferred forward, the snapshot read once, held things released.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RejectCode } from '../core/codes.js';
import type { BodyRead, Exchange } from '../core/exchange.js';
import type { Rejection, ReplyHeaders } from '../core/filter.js';
import type { CallOutcome } from '../core/observer.js';
import { hold, type Call } from './call.js';
import { dataSnapshotOf, headersOf, peerOf, policyOf } from './call.test-helper.js';
import { CallObservers, type CallObserver } from './observers.js';
import { Pipeline, type CallFilter } from './pipeline.js';

const POLICY = policyOf('apiVersion: meshward.dev/v1alpha1\nkind: Policy\nmetadata: { name: p }\nspec: {}\n');

/** An exchange that records what is written to it; `body` is what readBody answers. */
class MemoryExchange implements Exchange {
  readonly headers = headersOf({ ':path': '/a.B/C', accept: 'application/json' });
  closed = false;
  responded = false;
  replies: Array<{ status: number; headers: ReplyHeaders; body: string | undefined }> = [];
  bodyAsked: number[] = [];
  resets = 0;
  #onClose: Array<() => void> = [];
  constructor(
    readonly method = 'POST',
    readonly target = '/a.B/C',
    private readonly body: BodyRead = Buffer.from('{}'),
  ) {}
  readBody(maxBytes: number): Promise<BodyRead> {
    this.bodyAsked.push(maxBytes);
    return Promise.resolve(this.body);
  }
  respond(status: number, headers: ReplyHeaders, body: string | undefined): void {
    this.responded = true;
    this.replies.push({ status, headers, body });
  }
  reset(): void {
    this.resets++;
  }
  onClose(listener: () => void): void {
    this.#onClose.push(listener);
  }
  close(): void {
    this.closed = true;
    for (const l of this.#onClose) l();
  }
  outcome(startedAt: number): CallOutcome {
    const r = this.replies[0];
    return { grpcStatus: r === undefined ? 0 : Number(r.headers['grpc-status'] ?? NaN), httpStatus: r?.status ?? 200, rstCode: undefined, durationMs: performance.now() - startedAt };
  }
}

function setup(filters: CallFilter[], protocol: 'grpc' | 'graphql' = 'grpc') {
  const events: string[] = [];
  const forwarded: Call[] = [];
  const outcomes: CallOutcome[] = [];
  const observer: CallObserver = {
    started: (c) => void events.push(`started ${c.path}`),
    decided: (_c, r) => void events.push(`decided ${r?.reason ?? 'forward'}`),
    ended: (_c, o) => void (events.push('ended'), outcomes.push(o)),
  };
  const snapshot = { current: dataSnapshotOf(POLICY) };
  const pipeline = new Pipeline<MemoryExchange>({
    protocol,
    filters,
    observers: new CallObservers([observer]),
    snapshot,
    maxTimeoutMs: 5000,
    forward: (call) => void (forwarded.push(call), events.push('forward')),
  });
  return { pipeline, events, forwarded, outcomes, snapshot };
}

const turn = () => new Promise((r) => setImmediate(r));
const pass = (name: string, seen: string[]): CallFilter => ({ name, apply: () => void seen.push(name) });
const DENY: Rejection = { code: RejectCode.PERMISSION_DENIED, reason: 'no' };

test('head filters in order; an accepted call is forwarded one turn later, then the end reaches the observers', async () => {
  const seen: string[] = [];
  const { pipeline, events, forwarded } = setup([pass('a', seen), pass('b', seen)]);
  const x = new MemoryExchange();
  pipeline.handle(x, peerOf('spiffe://t/x'));
  assert.deepEqual(seen, ['a', 'b']);
  assert.deepEqual(events, ['started /a.B/C', 'decided forward'], 'not forwarded in the same turn');
  await turn();
  assert.equal(forwarded.length, 1);
  assert.equal(forwarded[0]!.peer.spiffeId, 'spiffe://t/x');
  x.close();
  assert.deepEqual(events.slice(-2), ['forward', 'ended']);
});

test('a refusal is written through the exchange by the protocol\'s reply, never forwarded', async () => {
  const { pipeline, events, forwarded, outcomes } = setup([{ name: 'deny', apply: () => DENY }]);
  const x = new MemoryExchange();
  pipeline.handle(x, peerOf(undefined));
  await turn();
  assert.equal(forwarded.length, 0);
  assert.deepEqual(x.replies.map((r) => [r.status, r.headers['grpc-status'], r.body]), [[200, '7', undefined]]);
  x.close();
  assert.deepEqual(events, ['started /a.B/C', 'decided no', 'ended']);
  assert.equal(outcomes[0]!.grpcStatus, 7, 'the outcome is what the exchange recorded');

  const g = setup([{ name: 'deny', apply: () => DENY }], 'graphql');
  const gx = new MemoryExchange('GET', '/graphql?query=x');
  g.pipeline.handle(gx, peerOf(undefined));
  assert.equal(gx.replies[0]!.status, 403);
  assert.equal(JSON.parse(gx.replies[0]!.body!).errors[0].extensions.code, 'FORBIDDEN');
});

test('a call reset before its forward turn never reaches the forwarder', async () => {
  const { pipeline, forwarded, events } = setup([]);
  const x = new MemoryExchange();
  pipeline.handle(x, peerOf(undefined));
  x.close(); // the RST_STREAM read together with the HEADERS
  await turn();
  assert.equal(forwarded.length, 0);
  assert.deepEqual(events, ['started /a.B/C', 'decided forward', 'ended']);
});

test('body phase: the first body filter bounds the read; the body filters see it; a head refusal reads nothing', async () => {
  const seen: string[] = [];
  const bodyFilter: CallFilter = { name: 'read', phase: 'body', bodyLimit: () => 64, apply: (c) => void seen.push(`read ${String(c.body)}`) };
  const second: CallFilter = { name: 'after', phase: 'body', apply: () => void seen.push('after') };
  const { pipeline, forwarded } = setup([pass('head', seen), bodyFilter, second], 'graphql');
  const x = new MemoryExchange('POST', '/graphql', Buffer.from('{"query":"{a}"}'));
  pipeline.handle(x, peerOf(undefined));
  await turn();
  await turn();
  assert.deepEqual(x.bodyAsked, [64]);
  assert.deepEqual(seen, ['head', 'read {"query":"{a}"}', 'after']);
  assert.equal(forwarded.length, 1);

  const refused = setup([{ name: 'deny', apply: () => DENY }, bodyFilter], 'graphql');
  const y = new MemoryExchange('POST', '/graphql');
  refused.pipeline.handle(y, peerOf(undefined));
  await turn();
  assert.deepEqual(y.bodyAsked, [], 'a refused caller costs no body read');
});

test('body phase: no limit means no read (GET); a caller gone while reading is not decided; too large reaches the filter', async () => {
  const bodies: unknown[] = [];
  const read: CallFilter = { name: 'read', phase: 'body', bodyLimit: (c) => (c.httpMethod === 'POST' ? 10 : undefined), apply: (c) => void bodies.push(c.body) };
  const { pipeline, events } = setup([read], 'graphql');
  const get = new MemoryExchange('GET', '/graphql?query=x');
  pipeline.handle(get, peerOf(undefined));
  assert.deepEqual(get.bodyAsked, []);
  const gone = new MemoryExchange('POST', '/graphql', 'aborted');
  pipeline.handle(gone, peerOf(undefined));
  const big = new MemoryExchange('POST', '/graphql', 'too_large');
  pipeline.handle(big, peerOf(undefined));
  await turn();
  assert.deepEqual(bodies, [undefined, 'too_large']);
  assert.equal(events.filter((e) => e.startsWith('decided')).length, 2, 'the aborted call was never decided');
});

test('a head filter after a body filter is refused when the pipeline is built', () => {
  assert.throws(() => setup([{ name: 'b', phase: 'body', apply: () => undefined }, { name: 'h', apply: () => undefined }]), /filter h \(head phase\) comes after a body filter/);
});

test('the snapshot is read once per call: a reload during an async filter does not change the call', async () => {
  let release!: () => void;
  const wait = new Promise<void>((r) => (release = r));
  const versions: string[] = [];
  const { pipeline, snapshot } = setup([
    { name: 'slow', apply: () => wait.then(() => undefined) },
    { name: 'after', apply: (c) => void versions.push(c.snapshot.policy.version) },
  ]);
  const first = snapshot.current;
  pipeline.handle(new MemoryExchange(), peerOf(undefined));
  snapshot.current = dataSnapshotOf(policyOf('apiVersion: meshward.dev/v1alpha1\nkind: Policy\nmetadata: { name: q }\nspec: {}\n'));
  release();
  await turn();
  assert.deepEqual(versions, [first.policy.version]);
  assert.notEqual(snapshot.current.policy.version, first.policy.version);
});

test('what a call holds is released when its exchange ends, after the observers saw the end', () => {
  const log: string[] = [];
  const holder: CallFilter = { name: 'hold', apply: (c) => void hold(c, { release: () => void log.push('released') }) };
  const { pipeline, events } = setup([holder]);
  const x = new MemoryExchange();
  pipeline.handle(x, peerOf(undefined));
  assert.deepEqual(log, []);
  x.close();
  assert.deepEqual(log, ['released']);
  assert.equal(events.at(-1), 'ended');
});

test('a throwing filter fails closed: INTERNAL through the exchange', () => {
  const { pipeline } = setup([{ name: 'boom', apply: () => { throw new Error('bug'); } }]);
  const x = new MemoryExchange();
  pipeline.handle(x, peerOf(undefined));
  assert.equal(x.replies[0]!.headers['grpc-status'], '13');
});
