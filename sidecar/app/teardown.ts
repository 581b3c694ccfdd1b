// The one ordered list of what stops when the sidecar stops (CONTROL path). A failed startup
// and a clean stop run the same list: each step stops its part if that part started, in the
// order the list gives, bounded where a part may hang, and a failing step is logged without
// skipping the rest.

import { log } from '../core/log.js';

export interface TeardownStep {
  readonly name: string;
  readonly run: () => void | Promise<unknown>;
  /** Longest wait for this step; undefined = until it settles. */
  readonly timeoutMs?: number;
}

export class Teardown {
  #running: Promise<void> | undefined;

  constructor(readonly steps: readonly TeardownStep[]) {}

  /** Runs every step once, in order (later calls get the same promise). */
  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const step of this.steps) {
        try {
          await bounded(step.run(), step.timeoutMs);
        } catch (err) {
          log.warn('shutdown step failed', { step: step.name, error: String(err) });
        }
      }
    })();
    return this.#running;
  }
}

function bounded(result: void | Promise<unknown>, timeoutMs: number | undefined): Promise<unknown> | void {
  if (!(result instanceof Promise) || timeoutMs === undefined) return result;
  let timer: NodeJS.Timeout | undefined;
  // Not unref'd: the bounded wait itself keeps the process alive until it is over.
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  return Promise.race([result, timeout]).finally(() => clearTimeout(timer));
}
