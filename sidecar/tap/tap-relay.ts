// The tap across worker processes (`workers` > 1, app/primary.ts): the primary serves /tap,
// the workers see the calls. While the primary has subscribers, each worker relays every call
// to it in batches over the IPC channel, one batch in flight at a time; a relay that falls
// behind drops (counted, passed on so subscribers know). Data path on the worker side (the
// hub's per-call cost, as for any subscriber); control path on the primary's.

import type { TapEvent } from './tap-event.js';
import type { TapFilter } from './tap-filter.js';
import type { TapHub, TapSubscription } from './tap-hub.js';

/** One IPC message worker → primary. */
export interface TapBatch {
  readonly events: readonly TapEvent[];
  /** Events lost by this relay since its previous batch. */
  readonly dropped: number;
}

const EVERYTHING: TapFilter = Object.freeze({});

/** A worker's side: a subscription to its own hub whose events go to `send`. */
export class TapRelay {
  readonly #sub: TapSubscription | undefined;
  #inFlight = false;
  #reported = 0;

  /** `send` returns false when the channel is gone; `done` runs once the batch has been written. */
  constructor(
    hub: Pick<TapHub, 'subscribe'>,
    private readonly send: (batch: TapBatch, done: () => void) => boolean,
  ) {
    this.#sub = hub.subscribe(EVERYTHING, () => this.#pump(), { relay: true });
  }

  get active(): boolean {
    return this.#sub !== undefined;
  }

  close(): void {
    this.#sub?.close();
  }

  #pump(): void {
    const sub = this.#sub;
    if (sub === undefined || this.#inFlight) return;
    const events = sub.take();
    const dropped = sub.dropped - this.#reported;
    if (events.length === 0 && dropped === 0) return;
    this.#reported += dropped;
    this.#inFlight = true;
    const sent = this.send({ events, dropped }, () => {
      this.#inFlight = false;
      this.#pump();
    });
    if (!sent) this.#inFlight = false;
  }
}

/** The primary's side: its hub gets the workers' events; `setRelays` turns the workers' relays on and off. */
export class TapFanIn {
  #on = false;
  #ready: Promise<void> = Promise.resolve();

  constructor(
    readonly hub: TapHub,
    private readonly setRelays: (on: boolean) => Promise<void>,
  ) {
    hub.onSubscribers((n) => {
      if (n > 0 && !this.#on) {
        this.#on = true;
        this.#ready = this.setRelays(true);
      } else if (n === 0 && this.#on) {
        this.#on = false;
        void this.setRelays(false);
      }
    });
  }

  /** Whether workers should relay now (a worker that becomes ready is told). */
  get on(): boolean {
    return this.#on;
  }

  get maxSubscribers(): number {
    return this.hub.maxSubscribers;
  }

  subscribe(filter: TapFilter, wake: () => void, opts?: { relay?: boolean }): TapSubscription | undefined {
    return this.hub.subscribe(filter, wake, opts);
  }

  /** Resolves when the workers ready at the last switch-on have acknowledged it (bounded by setRelays). */
  ready(): Promise<void> {
    return this.#ready;
  }

  receive(batch: TapBatch): void {
    for (const e of batch.events) this.hub.deliver(e);
    if (batch.dropped > 0) this.hub.noteDropped(batch.dropped);
  }
}
