// The one fan-out to a listener's call observers (data path): built once per listener, it
// keeps only the hooks each observer has, so a call costs one loop per hook that exists.
// Order matters: spans first (the audit log reads their trace ids), as the list gives it.

import type { CallObserver as CoreObserver, CallOutcome } from '../core/observer.js';
import type { Rejection } from '../core/filter.js';
import type { Call } from './call.js';

export type CallObserver = CoreObserver<Call>;
export type { CallOutcome } from '../core/observer.js';

export class CallObservers {
  readonly #started: CallObserver[];
  readonly #decided: CallObserver[];
  readonly #ended: CallObserver[];

  constructor(readonly list: readonly CallObserver[]) {
    this.#started = list.filter((o) => o.started !== undefined);
    this.#decided = list.filter((o) => o.decided !== undefined);
    this.#ended = list.filter((o) => o.ended !== undefined);
  }

  started(call: Call): void {
    const list = this.#started;
    for (let i = 0; i < list.length; i++) list[i]!.started!(call);
  }

  decided(call: Call, rejection: Rejection | undefined): void {
    const list = this.#decided;
    for (let i = 0; i < list.length; i++) list[i]!.decided!(call, rejection);
  }

  ended(call: Call, outcome: CallOutcome): void {
    const list = this.#ended;
    for (let i = 0; i < list.length; i++) list[i]!.ended!(call, outcome);
  }
}
