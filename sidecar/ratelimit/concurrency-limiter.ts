// Calls in flight per rule (data path): a counting semaphore with a bounded FIFO queue and
// a queue timeout. A free slot is taken synchronously (no promise); only a call that must
// wait gets one. A slot is held by the call and given back when its exchange ends (filters/concurrency-filter.ts).

import { realTimers, type Timers } from '../core/timers.js';

/** How a wait ends: true = the slot is now the caller's; 'cancelled' = the caller left first. */
export type WaitResult = true | 'queue_timeout' | 'cancelled';

/** A call waiting for a slot. */
export interface Waiter {
  readonly granted: Promise<WaitResult>;
  /** The caller went away while waiting: leave the queue (no slot is taken). */
  cancel(): void;
}

interface Node {
  prev: Node | undefined;
  next: Node | undefined;
  timer: unknown;
  settle: (v: WaitResult) => void;
}

export class ConcurrencyLimiter {
  #inFlight = 0;
  #waiting = 0;
  #head: Node | undefined;
  #tail: Node | undefined;

  constructor(
    readonly max: number,
    readonly queue: number,
    private readonly timers: Timers = realTimers,
  ) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return this.#waiting;
  }

  /** Takes a slot now if one is free and nobody is waiting before us. */
  tryAcquire(): boolean {
    if (this.#inFlight < this.max && this.#waiting === 0) {
      this.#inFlight++;
      return true;
    }
    return false;
  }

  /** Takes a slot even over the limit (audit mode: counted, never delayed). */
  forceAcquire(): void {
    this.#inFlight++;
  }

  /**
   * Waits for a slot, at most `timeoutMs`; 'queue_full' at once when `queue` calls already
   * wait. Call after tryAcquire() failed.
   */
  enqueue(timeoutMs: number): Waiter | 'queue_full' {
    if (this.#waiting >= this.queue) return 'queue_full';
    let settle!: (v: WaitResult) => void;
    const granted = new Promise<WaitResult>((resolve) => (settle = resolve));
    const node: Node = { prev: this.#tail, next: undefined, timer: undefined, settle };
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
    this.#waiting++;
    node.timer = this.timers.setTimeout(() => {
      if (this.#unlink(node)) settle('queue_timeout');
    }, Math.max(0, timeoutMs));
    return {
      granted,
      cancel: () => {
        if (!this.#unlink(node)) return;
        this.timers.clearTimeout(node.timer);
        settle('cancelled');
      },
    };
  }

  /** Gives a slot back; the longest-waiting call (if any) gets it. */
  release(): void {
    const next = this.#head;
    if (next !== undefined && this.#inFlight <= this.max) {
      // The slot passes straight to the waiter: in-flight stays the same.
      this.#unlink(next);
      this.timers.clearTimeout(next.timer);
      next.settle(true);
      return;
    }
    if (this.#inFlight > 0) this.#inFlight--;
  }

  /** Removes a node from the queue; false if it already left. */
  #unlink(node: Node): boolean {
    if (node.prev === undefined && this.#head !== node) return false;
    if (node.prev !== undefined) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next !== undefined) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = node.next = undefined;
    this.#waiting--;
    return true;
  }
}
