// Memory-store rate limits shared by worker processes (`workers` > 1; runs in the primary,
// app/primary.ts): the one authoritative token bucket per limit and caller key. Workers lease
// tokens from it in batches (leased-rate-limiter.ts), so the total never exceeds one bucket.

import { KeyTable } from './key-table.js';
import { fullBucket, isFull, takeTokens, type Bucket, type BucketShape } from './token-bucket.js';

/** A worker asks for `need` to `want` tokens of one limit (its rule and numbers) for one caller key. */
export interface LeaseRequest {
  /** The limit's identity: rule id and numbers (a reload with new numbers starts afresh). */
  readonly limiter: string;
  readonly ratePerMs: number;
  readonly capacity: number;
  /** The caller key; null = callers without one (they share one bucket, limit-key.ts). */
  readonly key: string | null;
  /** Fewer than this is no use to the worker (the call's weight): then nothing is granted. */
  readonly need: number;
  readonly want: number;
}

/** Tokens handed out (0, or need..want); when 0, the ms until `need` are there again. */
export interface LeaseGrant {
  readonly granted: number;
  readonly retryAfterMs: number;
}

interface LimitState {
  readonly shape: BucketShape;
  readonly table: KeyTable<Bucket>;
  readonly anonymous: Bucket;
  used: boolean;
  idleSweeps: number;
}

/** A limit no worker asked about for this many sweeps (its rule left the policy) is forgotten. */
const UNUSED_SWEEPS = 60;

export class TokenBroker {
  readonly #limits = new Map<string, LimitState>();
  readonly #maxKeys: number;
  readonly #now: () => number;

  constructor(opts: { maxKeysPerLimit: number; now?: () => number }) {
    this.#maxKeys = opts.maxKeysPerLimit;
    this.#now = opts.now ?? (() => performance.now());
  }

  lease(req: LeaseRequest): LeaseGrant {
    const now = this.#now();
    const state = this.#state(req, now);
    const bucket = req.key === null ? state.anonymous : state.table.get(req.key, now);
    const need = Math.max(1, Math.ceil(req.need));
    const granted = takeTokens(bucket, state.shape, need, Math.max(need, Math.floor(req.want)), now);
    return { granted, retryAfterMs: granted > 0 ? 0 : (need - bucket.tokens) / state.shape.ratePerMs };
  }

  /** Forgets full buckets (a full bucket is the same as a new one) and unused limits. */
  sweep(): void {
    const now = this.#now();
    for (const [id, state] of this.#limits) {
      state.idleSweeps = state.used ? 0 : state.idleSweeps + 1;
      state.used = false;
      state.table.sweep(now);
      if (state.idleSweeps > UNUSED_SWEEPS) this.#limits.delete(id);
    }
  }

  get limits(): number {
    return this.#limits.size;
  }

  #state(req: LeaseRequest, now: number): LimitState {
    let state = this.#limits.get(req.limiter);
    if (state === undefined) {
      const shape: BucketShape = { ratePerMs: req.ratePerMs, capacity: req.capacity };
      state = {
        shape,
        table: new KeyTable<Bucket>({ max: this.#maxKeys, create: (_k, t) => fullBucket(shape, t), isIdle: (b, t) => isFull(b, shape, t) }),
        anonymous: fullBucket(shape, now),
        used: true,
        idleSweeps: 0,
      };
      this.#limits.set(req.limiter, state);
    }
    state.used = true;
    return state;
  }
}
