// Bytes per second per caller key (data path): for one `bandwidth` rule, a byte bucket per key
// and direction in bounded tables, and the two shapers a call's pipes get. Each direction
// (caller → app, app → caller) gets the configured rate; concurrent calls of a key share it.

import type { BandwidthRule } from '../policy/model.js';
import { BandwidthShaper, byteBucketShape, type ByteBucket } from './bandwidth-shaper.js';
import type { Timers } from './concurrency-limiter.js';
import { KeyTable } from './key-table.js';
import { fullBucket, isFull, type BucketShape } from './token-bucket.js';

export class BandwidthLimiter {
  readonly #shape: BucketShape;
  readonly #request: KeyTable<ByteBucket>;
  readonly #response: KeyTable<ByteBucket>;
  readonly #anonymous: { request: ByteBucket; response: ByteBucket };
  readonly #now: () => number;
  readonly #timers: Timers | undefined;

  constructor(
    readonly rule: BandwidthRule,
    opts: { maxKeys: number; now?: () => number; timers?: Timers },
  ) {
    const shape = byteBucketShape(rule.bytesPerSecond);
    const now = opts.now ?? (() => performance.now());
    const table = () =>
      new KeyTable<ByteBucket>({
        max: opts.maxKeys,
        create: (_key, t) => ({ shape, bucket: fullBucket(shape, t) }),
        isIdle: (b, t) => isFull(b.bucket, shape, t),
      });
    this.#shape = shape;
    this.#now = now;
    this.#timers = opts.timers;
    this.#request = table();
    this.#response = table();
    this.#anonymous = { request: { shape, bucket: fullBucket(shape, now()) }, response: { shape, bucket: fullBucket(shape, now()) } };
  }

  /** The shapers for one call of `key` (undefined = the callers without a key). */
  shapers(key: string | undefined): { request: BandwidthShaper; response: BandwidthShaper } {
    const now = this.#now();
    const request = key === undefined ? this.#anonymous.request : this.#request.get(key, now);
    const response = key === undefined ? this.#anonymous.response : this.#response.get(key, now);
    return { request: new BandwidthShaper(request, this.#now, this.#timers), response: new BandwidthShaper(response, this.#now, this.#timers) };
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
