// The request path every listener shares, for gRPC and GraphQL alike (data path): build the
// call from the exchange, tell the observers, run the head filters, read the body when the
// chain has a body phase, run the body filters, then reply through the exchange or forward.
// The forward waits one turn of the event loop: a HEADERS frame and the RST_STREAM that
// cancels it arrive in the same read, so a reset stream never reaches the upstream.

import { runChain, type ChainResult } from '../core/chain.js';
import type { Exchange } from '../core/exchange.js';
import type { Filter, FilterResult } from '../core/filter.js';
import { reply } from '../core/reply.js';
import type { Snapshot } from '../core/snapshot.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import { Call, releaseAll, type Protocol } from './call.js';
import type { DataSnapshot } from './data-snapshot.js';
import type { CallObservers } from './observers.js';

export type CallFilter = Filter<Call>;

export interface PipelineSpec<X extends Exchange> {
  readonly protocol: Protocol;
  /** The chain, in order: head filters, then body filters (app/chains.ts states both orders). */
  readonly filters: readonly CallFilter[];
  readonly observers: CallObservers;
  /** Read once per call. */
  readonly snapshot: Snapshot<DataSnapshot>;
  /** The deadline before a filter sets the call's own (grpc-timeout, a rule's timeout). */
  readonly maxTimeoutMs: number;
  /** Sends an accepted call on; runs only if the exchange is still open. */
  readonly forward: (call: Call, exchange: X) => void;
}

export class Pipeline<X extends Exchange> {
  readonly #spec: PipelineSpec<X>;
  readonly #head: readonly CallFilter[];
  readonly #body: readonly CallFilter[];

  constructor(spec: PipelineSpec<X>) {
    const firstBody = spec.filters.findIndex((f) => f.phase === 'body');
    const head = firstBody === -1 ? spec.filters : spec.filters.slice(0, firstBody);
    const body = firstBody === -1 ? [] : spec.filters.slice(firstBody);
    const misplaced = body.find((f) => f.phase !== 'body');
    if (misplaced !== undefined) throw new Error(`filter ${misplaced.name} (head phase) comes after a body filter`);
    this.#spec = spec;
    this.#head = head;
    this.#body = body;
  }

  /** The names of the filters, in order (for logs and docs). */
  get order(): string[] {
    return this.#spec.filters.map((f) => f.name);
  }

  /** One exchange in: the call is decided and then refused or forwarded. */
  handle(exchange: X, peer: PeerIdentity): void {
    const spec = this.#spec;
    const call = new Call(spec.protocol, exchange.method, exchange.target, exchange.headers, peer, spec.snapshot.current, spec.maxTimeoutMs);
    spec.observers.started(call);
    exchange.onClose(() => this.#end(call, exchange));
    this.#then(runChain(this.#head, call), call, exchange, this.#afterHead);
  }

  readonly #afterHead = (call: Call, exchange: X, rejection: FilterResult): void => {
    if (rejection !== undefined || this.#body.length === 0) return this.#settle(call, exchange, rejection);
    const limit = this.#bodyLimit(call);
    if (limit === undefined) return this.#then(runChain(this.#body, call), call, exchange, this.#settle);
    exchange.readBody(limit).then((body) => {
      if (body === 'aborted') return; // the caller left: nothing to decide (observers still see the end)
      call.body = body;
      this.#then(runChain(this.#body, call), call, exchange, this.#settle);
    });
  };

  #bodyLimit(call: Call): number | undefined {
    for (const f of this.#body) {
      const limit = f.bodyLimit?.(call);
      if (limit !== undefined) return limit;
    }
    return undefined;
  }

  /** Continues with `next` now when the chain was synchronous, else when it settles. */
  #then(result: ChainResult, call: Call, exchange: X, next: (call: Call, exchange: X, r: FilterResult) => void): void {
    if (result instanceof Promise) result.then((r) => next(call, exchange, r));
    else next(call, exchange, result);
  }

  readonly #settle = (call: Call, exchange: X, rejection: FilterResult): void => {
    call.rejection = rejection;
    this.#spec.observers.decided(call, rejection);
    if (rejection !== undefined) reply(exchange, call.protocol, rejection);
    else setImmediate(this.#forwardIfOpen, call, exchange);
  };

  readonly #forwardIfOpen = (call: Call, exchange: X): void => {
    if (!exchange.closed) this.#spec.forward(call, exchange);
  };

  #end(call: Call, exchange: X): void {
    call.ended = true;
    this.#spec.observers.ended(call, exchange.outcome(call.startedAt));
    releaseAll(call);
  }
}
