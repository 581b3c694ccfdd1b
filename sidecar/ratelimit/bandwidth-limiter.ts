// Bytes per second per caller key (data path): for one `bandwidth` rule, a byte bucket per key
// and direction in bounded tables — the pacers a call's relay honours. Each direction
// (caller → app, app → caller) gets the configured rate; concurrent calls of a key share it.

import type { BandwidthRule } from '../policy/model.js';
import { ByteBucket, byteBucketShape } from './byte-bucket.js';
import { KeyTable } from './key-table.js';
import { isFull, type BucketShape } from './token-bucket.js';

export class BandwidthLimiter {
  readonly #shape: BucketShape;
  readonly #request: KeyTable<ByteBucket>;
  readonly #response: KeyTable<ByteBucket>;
  readonly #anonymous: { readonly request: ByteBucket; readonly response: ByteBucket };
  readonly #now: () => number;

  constructor(
    readonly rule: BandwidthRule,
    opts: { maxKeys: number; now?: () => number },
  ) {
    const shape = byteBucketShape(rule.bytesPerSecond);
    const now = opts.now ?? (() => performance.now());
    const table = () =>
      new KeyTable<ByteBucket>({
        max: opts.maxKeys,
        create: (_key, t) => new ByteBucket(shape, t),
        isIdle: (b, t) => isFull(b.bucket, shape, t),
      });
    this.#shape = shape;
    this.#now = now;
    this.#request = table();
    this.#response = table();
    this.#anonymous = { request: new ByteBucket(shape, now()), response: new ByteBucket(shape, now()) };
  }

  /** The pacers of `key` (undefined = the callers without a key), shared by its concurrent calls. */
  pacers(key: string | undefined): { readonly request: ByteBucket; readonly response: ByteBucket } {
    if (key === undefined) return this.#anonymous;
    const now = this.#now();
    return { request: this.#request.get(key, now), response: this.#response.get(key, now) };
  }

  get keys(): number {
    return this.#request.size + this.#response.size;
  }

  sweep(now: number): void {
    this.#request.sweep(now);
    this.#response.sweep(now);
  }

  close(): void {
    this.#request.clear();
    this.#response.clear();
  }

  get shape(): BucketShape {
    return this.#shape;
  }
}
