// Bandwidth shaping (data path): a Transform the forwarder puts into a call's pipe when a
// `bandwidth` rule applies. Each chunk takes its size from the key's byte bucket and is held
// until the bucket can pay for it, so the pipe's backpressure — and HTTP/2 flow control
// behind it — slows the sender down instead of cutting the stream.

import { Transform, type TransformCallback } from 'node:stream';
import { takeWithDebt, type Bucket, type BucketShape } from './token-bucket.js';
import { realTimers, type Timers } from './concurrency-limiter.js';

/** The byte bucket of one key of one bandwidth rule, in one direction. */
export interface ByteBucket {
  readonly shape: BucketShape;
  readonly bucket: Bucket;
}

/**
 * What an idle key may send at once: a tenth of a second's worth (at least one HTTP/2 DATA
 * frame), so a short call is not slowed at all and a long one converges on the rate fast.
 */
export function byteBucketShape(bytesPerSecond: number): BucketShape {
  return { ratePerMs: bytesPerSecond / 1000, capacity: Math.max(bytesPerSecond / 10, 16_384) };
}

/** Chunks are paid for in pieces of at most this size, so a big chunk flows out smoothly. */
const PIECE_BYTES = 16_384;

export class BandwidthShaper extends Transform {
  readonly #target: ByteBucket;
  readonly #now: () => number;
  readonly #timers: Timers;
  #timer: unknown;

  constructor(target: ByteBucket, now: () => number = () => performance.now(), timers: Timers = realTimers) {
    super({ highWaterMark: PIECE_BYTES });
    this.#target = target;
    this.#now = now;
    this.#timers = timers;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#send(chunk, 0, callback);
  }

  #send(chunk: Buffer, offset: number, callback: TransformCallback): void {
    const { bucket, shape } = this.#target;
    while (offset < chunk.length) {
      const end = Math.min(chunk.length, offset + PIECE_BYTES);
      const piece = offset === 0 && end === chunk.length ? chunk : chunk.subarray(offset, end);
      const waitMs = takeWithDebt(bucket, shape, piece.length, this.#now());
      if (waitMs > 0) {
        // Paid for, but not yet due: hold this piece (and everything after it) until it is.
        this.#timer = this.#timers.setTimeout(() => {
          this.#timer = undefined;
          if (this.destroyed) return;
          this.push(piece);
          this.#send(chunk, end, callback);
        }, waitMs);
        return;
      }
      this.push(piece);
      offset = end;
    }
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    callback(err);
  }
}
