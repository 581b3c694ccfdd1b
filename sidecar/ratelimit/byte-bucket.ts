// The byte bucket of one key of one bandwidth rule, in one direction (data path): a token
// bucket counted in bytes, and the Pacer (core/body-hooks.ts) a relay asks how long to hold
// bytes. Concurrent calls of a key share its bucket, so they share its rate.

import type { Pacer } from '../core/body-hooks.js';
import { fullBucket, takeWithDebt, type Bucket, type BucketShape } from './token-bucket.js';

/**
 * What an idle key may send at once: a tenth of a second's worth (at least one HTTP/2 DATA
 * frame), so a short call is not slowed at all and a long one converges on the rate fast.
 */
export function byteBucketShape(bytesPerSecond: number): BucketShape {
  return { ratePerMs: bytesPerSecond / 1000, capacity: Math.max(bytesPerSecond / 10, 16_384) };
}

export class ByteBucket implements Pacer {
  readonly bucket: Bucket;

  constructor(
    readonly shape: BucketShape,
    now: number,
  ) {
    this.bucket = fullBucket(shape, now);
  }

  /** Takes `bytes` now (going into debt if need be); the ms until they are paid for. */
  pace(bytes: number, now: number): number {
    return takeWithDebt(this.bucket, this.shape, bytes, now);
  }
}
