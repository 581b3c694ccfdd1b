// Test helper (tests and benchmarks; never imported by the sidecar): a clock that only moves
// when told — `now()` and the Timers the limiters and pacing take — so queue timeouts, refills
// and shaping delays are exact and instant.

import type { Timers } from '../core/timers.js';

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

export class ManualClock implements Timers {
  #now: number;
  #seq = 0;
  readonly #pending = new Map<number, Pending>();

  constructor(start = 1_000) {
    this.#now = start;
  }

  readonly now = (): number => this.#now;

  setTimeout(fn: () => void, ms: number): unknown {
    const seq = ++this.#seq;
    this.#pending.set(seq, { at: this.#now + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Moves time forward by `ms`, firing due timers in order (each sees its own due time as now). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.#pending.values()) if (p.at <= end && (next === undefined || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      if (next === undefined) break;
      this.#pending.delete(next.seq);
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }
}
