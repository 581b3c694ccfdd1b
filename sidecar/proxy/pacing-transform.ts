// A Pacer (core/body-hooks.ts) as a Transform in a node stream pipe (data path): each chunk is
// paid for in pieces and held until its pacer says it is due, so the pipe's backpressure —
// and HTTP/2 flow control behind it — slows the sender down instead of cutting the stream.

import { Transform, type TransformCallback } from 'node:stream';
import type { Pacer } from '../core/body-hooks.js';
import { realTimers, type Timers } from '../core/timers.js';

/** Chunks are paid for in pieces of at most this size, so a big chunk flows out smoothly. */
const PIECE_BYTES = 16_384;

export class PacingTransform extends Transform {
  readonly #pacer: Pacer;
  readonly #now: () => number;
  readonly #timers: Timers;
  #timer: unknown;

  constructor(pacer: Pacer, now: () => number = () => performance.now(), timers: Timers = realTimers) {
    super({ highWaterMark: PIECE_BYTES });
    this.#pacer = pacer;
    this.#now = now;
    this.#timers = timers;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#send(chunk, 0, callback);
  }

  #send(chunk: Buffer, offset: number, callback: TransformCallback): void {
    while (offset < chunk.length) {
      const end = Math.min(chunk.length, offset + PIECE_BYTES);
      const piece = offset === 0 && end === chunk.length ? chunk : chunk.subarray(offset, end);
      const waitMs = this.#pacer.pace(piece.length, this.#now());
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
