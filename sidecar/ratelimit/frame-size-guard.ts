// The largest request message (DESIGN §5 `maxMessageBytes`, data path): reads the 5-byte
// gRPC length prefix of each message as request chunks pass and refuses a message that is
// too large before any byte of its body is forwarded. Reads in place; never copies.

import type { Rejection } from '../core/filter.js';

/** gRPC's own default receive limit, and meshward's when no rule sets one. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * One per call. `check` sees every request chunk before the forwarder writes it to the app;
 * a Rejection means "stop now": the chunk holding the too-large prefix is not forwarded.
 * (A message's own 5-byte prefix split over two DATA frames lets the first part through
 * before the length is known; the body never is.)
 */
export class FrameSizeGuard {
  /** Body bytes of the current message still to come. */
  #body = 0;
  /** Prefix bytes of the next message seen so far (0–4; the flag byte counts). */
  #prefix = 0;
  /** The length read so far from a split prefix. */
  #length = 0;

  constructor(
    readonly max: number,
    private readonly tooLarge: Rejection,
  ) {}

  check(chunk: Buffer): Rejection | undefined {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#body > 0) {
        const left = n - i;
        if (left <= this.#body) {
          this.#body -= left;
          return undefined;
        }
        i += this.#body;
        this.#body = 0;
        continue;
      }
      if (this.#prefix === 0 && n - i >= 5) {
        // The usual case: the whole prefix is in this chunk.
        const length = chunk.readUInt32BE(i + 1);
        if (length > this.max) return this.tooLarge;
        this.#body = length;
        i += 5;
        continue;
      }
      // A prefix split across chunks: the flag byte, then the length big-endian.
      if (this.#prefix > 0) this.#length = this.#length * 256 + chunk[i]!;
      i++;
      if (++this.#prefix === 5) {
        const length = this.#length;
        this.#prefix = 0;
        this.#length = 0;
        if (length > this.max) return this.tooLarge;
        this.#body = length;
      }
    }
    return undefined;
  }
}
