// Counts the calls in flight (data path: two increments per call), so a drain can say how
// many calls it let finish and how many it had to cut.

import type { CallObserver } from '../core/observer.js';

export class InflightCalls implements CallObserver {
  #count = 0;

  get count(): number {
    return this.#count;
  }

  started(): void {
    this.#count++;
  }

  ended(): void {
    this.#count--;
  }
}
