// What feeding /tap and the dashboard costs a call (DESIGN §12; goal < 0.5 µs without
// subscribers): the tap hub's `ended` hook over real call contexts and policy decisions,
//  - with nobody subscribed (allowed calls; refused calls, which also fill the refusals ring),
//  - with one subscriber taking everything, and one whose filter matches no call,
// against the same loop with an empty observer. The subscriber's side — taking the buffer and
// writing it as Server-Sent Events text, as the /tap route does — runs on the event loop but
// off any call, and is shown per event.
// Run: node --import tsx bench/tap.bench.ts [calls]

import type { CallContext } from '../sidecar/core/filter.js';
import type { CallObserver, CallOutcome } from '../sidecar/core/observer.js';
import { parseTapFilter } from '../sidecar/tap/tap-filter.js';
import { TapHub } from '../sidecar/tap/tap-hub.js';
import { decide, fakeCall, snapshotOf } from '../sidecar/telemetry/fake-call.js';

const CALLS = Number(process.argv[2] ?? 1_000_000);
const CHUNK = 1024; // calls between event-loop turns, so a subscriber's wake-up can run

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: bench }
spec:
  grpc:
${Array.from({ length: 16 }, (_, i) => `    - { methods: ["bench.v1.S${i}/Get"], allow: [ { principals: ["spiffe://cluster.local/ns/web/sa/frontend"] } ] }`).join('\n')}
`;
const snapshot = snapshotOf(POLICY);
const OUTCOME: CallOutcome = Object.freeze({ grpcStatus: 0, httpStatus: 200, rstCode: undefined, durationMs: 1.2 });
const DENIED: CallOutcome = Object.freeze({ grpcStatus: 7, httpStatus: 200, rstCode: undefined, durationMs: 0.2 });

/** Contexts decided once (the hook's cost is what is timed, not the policy's). */
function contexts(paths: string[]): CallContext[] {
  return paths.map((p) => {
    const ctx = fakeCall(p);
    ctx.rejection = decide(ctx, snapshot);
    return ctx;
  });
}
const allowedCalls = contexts(Array.from({ length: 64 }, (_, i) => `/bench.v1.S${i & 15}/Get`));
const refusedCalls = contexts(Array.from({ length: 64 }, (_, i) => `/bench.v1.S${i & 15}/Delete`));

const EMPTY: CallObserver = { ended() {} };
const turn = () => new Promise((r) => setImmediate(r));

/**
 * ns per call of `observer.ended`: the median over chunks of CHUNK calls (each timed alone, so a
 * chunk the shared machine preempted counts once, not for the whole round); only the
 * synchronous call work is timed.
 */
async function time(observer: CallObserver, calls: CallContext[], outcome: CallOutcome, n: number): Promise<number> {
  const ended = observer.ended!.bind(observer);
  const run = (count: number): void => {
    for (let i = 0; i < count; i++) ended(calls[i & 63]!, outcome);
  };
  for (let done = 0; done < 100_000; done += CHUNK) {
    run(CHUNK);
    await turn();
  }
  const chunks: number[] = [];
  for (let done = 0; done < n; done += CHUNK) {
    const t = process.hrtime.bigint();
    run(CHUNK);
    chunks.push(Number(process.hrtime.bigint() - t) / CHUNK);
    await turn();
  }
  chunks.sort((a, b) => a - b);
  return chunks[Math.floor(chunks.length / 2)]!;
}

const filter = (q: string) => {
  const p = parseTapFilter(new URLSearchParams(q));
  if (!p.ok) throw new Error(p.error);
  return p.filter;
};

/** A subscriber as the /tap route drains it: take the buffer, write SSE text (to nowhere). */
function drainingSubscriber(hub: TapHub, query: string): { events: number; bytes: number; medianNs: () => number } {
  const perEvent: number[] = [];
  const stats = { events: 0, bytes: 0, medianNs: () => perEvent.sort((a, b) => a - b)[Math.floor(perEvent.length / 2)] ?? 0 };
  const sub = hub.subscribe(filter(query), () => {
    const t = process.hrtime.bigint();
    const events = sub!.take();
    let text = '';
    for (const e of events) text += `data: ${JSON.stringify(e)}\n\n`;
    stats.bytes += text.length;
    stats.events += events.length;
    if (events.length > 0) perEvent.push(Number(process.hrtime.bigint() - t) / events.length);
  });
  return stats;
}

async function main(): Promise<void> {
  console.log(`node ${process.version}; ${CALLS.toLocaleString('en')} calls per scenario, median of chunks of ${CHUNK}; the tap hub's ended() hook`);
  const base = await time(EMPTY, allowedCalls, OUTCOME, CALLS);
  const rows: Array<[string, number, string]> = [['empty observer (the loop and the call of a hook)', base, '']];

  const idle = new TapHub();
  rows.push(['no subscriber, allowed calls', await time(idle, allowedCalls, OUTCOME, CALLS), '']);
  rows.push(['no subscriber, refused calls (refusals ring)', await time(idle, refusedCalls, DENIED, CALLS), '']);

  const one = new TapHub({ maxBuffered: 1 << 20 });
  const drained = drainingSubscriber(one, '');
  rows.push(['one subscriber, every call', await time(one, allowedCalls, OUTCOME, CALLS), `${one.stats.dropped} dropped`]);

  const none = new TapHub();
  drainingSubscriber(none, 'decision=deny');
  rows.push(['one subscriber whose filter matches no call', await time(none, allowedCalls, OUTCOME, CALLS), '']);

  for (const [name, ns, note] of rows) {
    const over = name.startsWith('empty') ? '' : `   +${((ns - base) / 1000).toFixed(3).padStart(6)} µs over the empty observer`;
    console.log(`${name.padEnd(48)} ${(ns / 1000).toFixed(3).padStart(7)} µs/call${over}${note === '' ? '' : `   (${note})`}`);
  }
  const perEvent = drained.medianNs();
  console.log(
    `${'subscriber side: take + SSE text, per event'.padEnd(48)} ${(perEvent / 1000).toFixed(3).padStart(7)} µs/event (off the call, on the event loop; ${Math.round(drained.bytes / Math.max(1, drained.events))} bytes/event)`,
  );
}

await main();
process.exit(0);
