// The tap hub (DESIGN §12): a call observer that hands each ended call to the subscribers of
// GET /tap and the dashboard, and keeps the last refusals for the dashboard. Data path: with
// no subscriber a call costs one length check (refused calls also fill a small ring); with
// subscribers, one event per call, offered to each subscriber's bounded buffer. A subscriber
// that falls behind loses events (counted); a call never waits for one.

import type { CallInfo } from '../core/filter.js';
import type { CallObserver, CallOutcome } from '../core/observer.js';
import { tapEventOf, type TapEvent } from './tap-event.js';
import { tapMatches, type TapFilter } from './tap-filter.js';

export interface TapHubOptions {
  readonly maxSubscribers?: number;
  readonly maxBuffered?: number;
  readonly recentRefusals?: number;
}

export const TAP_DEFAULTS = Object.freeze({
  /** More subscribers would each add per-call work; the next one gets 503. */
  maxSubscribers: 16,
  /** Events a subscriber may have waiting for its connection; more are dropped and counted. */
  maxBuffered: 1024,
  /** Refusals kept for the dashboard (GET /refusals). */
  recentRefusals: 50,
});

/** One subscriber: its filter, its bounded buffer, its drop count. The sink takes events when woken. */
export class TapSubscription {
  #buffer: TapEvent[] = [];
  #dropped = 0;
  #scheduled = false;
  #closed = false;

  constructor(
    readonly filter: TapFilter,
    private readonly wake: () => void,
    readonly maxBuffered: number,
    private readonly onClose: (s: TapSubscription) => void,
    /** A worker's relay to the primary (tap-relay.ts): not a person, not counted as a subscriber. */
    readonly relay = false,
  ) {}

  /** Data path: a filter check and a push; the sink is woken once per event-loop turn at most. */
  offer(event: TapEvent): void {
    if (!tapMatches(this.filter, event)) return;
    if (this.#buffer.length >= this.maxBuffered) {
      this.#dropped++;
      return;
    }
    this.#buffer.push(event);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(runWake, this);
    }
  }

  /** Events the subscriber may have lost upstream (a worker's relay fell behind). */
  noteDropped(n: number): void {
    this.#dropped += n;
    if (!this.#scheduled && !this.#closed) {
      this.#scheduled = true;
      setImmediate(runWake, this);
    }
  }

  /** The waiting events, oldest first; the buffer starts over. */
  take(): TapEvent[] {
    const taken = this.#buffer;
    if (taken.length > 0) this.#buffer = [];
    return taken;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  /** Events lost so far (buffer full, or upstream). */
  get dropped(): number {
    return this.#dropped;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer = [];
    this.onClose(this);
  }

  /** @internal */
  runWake(): void {
    this.#scheduled = false;
    if (!this.#closed) this.wake();
  }
}

function runWake(s: TapSubscription): void {
  s.runWake();
}

export interface TapStats {
  readonly subscribers: number;
  /** Calls offered to the subscribers (each subscriber keeps those its filter matches). */
  readonly delivered: number;
  /** Events dropped by subscribers that fell behind (all subscribers, ever). */
  readonly dropped: number;
}

export class TapHub implements CallObserver {
  #subscribers: readonly TapSubscription[] = [];
  readonly #refusals: (TapEvent | undefined)[];
  #refusalNext = 0;
  #delivered = 0;
  #droppedByClosed = 0;
  readonly #listeners: Array<(subscribers: number) => void> = [];
  readonly maxSubscribers: number;
  readonly maxBuffered: number;

  constructor(opts: TapHubOptions = {}) {
    this.maxSubscribers = opts.maxSubscribers ?? TAP_DEFAULTS.maxSubscribers;
    this.maxBuffered = opts.maxBuffered ?? TAP_DEFAULTS.maxBuffered;
    this.#refusals = new Array<TapEvent | undefined>(opts.recentRefusals ?? TAP_DEFAULTS.recentRefusals).fill(undefined);
  }

  /** CallObserver: the call's stream closed. */
  ended(ctx: CallInfo, outcome: CallOutcome): void {
    const subscribers = this.#subscribers;
    const refusal = ctx.rejection ?? ctx.lateRejection;
    if (subscribers.length === 0 && refusal === undefined) return;
    const event = tapEventOf(ctx, outcome, refusal);
    if (refusal !== undefined) this.#remember(event);
    if (subscribers.length > 0) this.#deliver(subscribers, event);
  }

  /** Offers an event built elsewhere (a worker's, relayed by the primary) to the subscribers. */
  deliver(event: TapEvent): void {
    const subscribers = this.#subscribers;
    if (subscribers.length > 0) this.#deliver(subscribers, event);
  }

  /** Every current subscriber may have lost `n` events upstream (a worker's relay fell behind). */
  noteDropped(n: number): void {
    for (const s of this.#subscribers) s.noteDropped(n);
  }

  /** undefined when `maxSubscribers` are already subscribed. `wake` runs when events wait (once per turn at most). */
  subscribe(filter: TapFilter, wake: () => void, opts: { relay?: boolean } = {}): TapSubscription | undefined {
    if (this.#subscribers.length >= this.maxSubscribers) return undefined;
    const sub = new TapSubscription(filter, wake, this.maxBuffered, (s) => this.#remove(s), opts.relay === true);
    // Copy on write: a call being delivered keeps iterating the list it read.
    this.#subscribers = [...this.#subscribers, sub];
    this.#changed();
    return sub;
  }

  /** Called with the subscriber count whenever it changes (the primary turns workers' relays on and off). */
  onSubscribers(listener: (subscribers: number) => void): void {
    this.#listeners.push(listener);
  }

  get subscribers(): number {
    return this.#subscribers.length;
  }

  /** The last refusals, newest first. */
  recentRefusals(): TapEvent[] {
    const out: TapEvent[] = [];
    const n = this.#refusals.length;
    for (let i = 1; i <= n; i++) {
      const e = this.#refusals[(this.#refusalNext - i + n) % n];
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  get stats(): TapStats {
    let dropped = this.#droppedByClosed;
    let subscribers = 0;
    for (const s of this.#subscribers) {
      dropped += s.dropped;
      if (!s.relay) subscribers++;
    }
    return { subscribers, delivered: this.#delivered, dropped };
  }

  #deliver(subscribers: readonly TapSubscription[], event: TapEvent): void {
    this.#delivered++;
    for (let i = 0; i < subscribers.length; i++) subscribers[i]!.offer(event);
  }

  #remember(event: TapEvent): void {
    const n = this.#refusals.length;
    if (n === 0) return;
    this.#refusals[this.#refusalNext] = event;
    this.#refusalNext = (this.#refusalNext + 1) % n;
  }

  #remove(sub: TapSubscription): void {
    const before = this.#subscribers.length;
    this.#subscribers = this.#subscribers.filter((s) => s !== sub);
    if (this.#subscribers.length === before) return;
    this.#droppedByClosed += sub.dropped;
    this.#changed();
  }

  #changed(): void {
    for (const l of this.#listeners) l(this.#subscribers.length);
  }
}
