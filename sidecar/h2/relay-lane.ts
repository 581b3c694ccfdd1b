// One direction of a relayed call when something must hold its bytes (data path): request
// messages held by the owner's message guard until it released them (complete and checked),
// then pacing (bandwidth). Bytes wait here without their flow-control credit going back, so
// the sender is slowed by windows, not buffered without bound. Without a guard or pacers a
// relay never builds a lane.

/** How long to hold `bytes` about to be relayed at `now` (ms); 0 = now (a bandwidth pacer). */
export interface LanePacer {
  pace(bytes: number, now: number): number;
}

/**
 * Holds request bytes until they may go on (the shape of core/body-hooks.ts's MessageGuard):
 * bytes in as they arrive, the bytes it lets through handed to `release` (whole checked
 * messages, their original octets); a value `R` ends the call. Synchronous.
 */
export interface LaneGuard<R> {
  push(chunk: Buffer, release: (bytes: Buffer) => void): R | undefined;
  /** The sender finished: what is still held is released or refused. */
  end(release: (bytes: Buffer) => void): R | undefined;
}

export interface LaneOptions<R> {
  readonly pacers?: readonly LanePacer[];
  /** The message guard, and the refusal when it throws (a bug, never an expected denial). */
  readonly guard?: { readonly guard: LaneGuard<R>; readonly failed: R };
  /** Where released bytes go (the other stream). */
  readonly out: (data: Buffer, endStream: boolean) => void;
  /** The guard refused: the lane stops; the owner ends the call. */
  readonly refused: (rejection: R) => void;
  /** Bytes the lane took in and will never release (kept by the guard at the end): their credit. */
  readonly dropped: (bytes: number) => void;
  readonly now?: () => number;
}

/** Pieces of at most this size are paced one by one, so a large chunk flows out smoothly. */
const PIECE_BYTES = 16_384;

export class RelayLane<R> {
  /** Released by the checks (or not checked), waiting for pacing. */
  private readonly ready: Buffer[] = [];
  private readyEnd = false;
  /** Octets given to the guard and not yet released by it. */
  private inGuard = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private endSent = false;
  /** Octets taken in and not yet handed to `out` (their credit is still held). */
  held = 0;

  constructor(private readonly opts: LaneOptions<R>) {}

  /** Takes in `data` (owned by the lane until released) and END_STREAM. */
  push(data: Buffer, endStream: boolean): void {
    if (this.stopped) return;
    this.held += data.length;
    const g = this.opts.guard;
    if (g === undefined) {
      if (data.length > 0) this.ready.push(data);
      if (endStream) this.readyEnd = true;
      return this.pump();
    }
    let refused: R | undefined;
    try {
      if (data.length > 0) {
        this.inGuard += data.length;
        refused = g.guard.push(data, this.release_);
      }
      if (refused === undefined && endStream && !this.stopped) refused = g.guard.end(this.release_);
    } catch {
      refused = g.failed;
    }
    if (refused !== undefined) return this.opts.refused(refused);
    if (this.stopped) return;
    if (endStream) {
      // Whatever the guard kept (and did not refuse) is never relayed: its credit goes back.
      if (this.inGuard > 0) {
        this.held -= this.inGuard;
        this.opts.dropped(this.inGuard);
        this.inGuard = 0;
      }
      this.readyEnd = true;
    }
    this.pump();
  }

  /** The call ended: nothing more is released; returns the octets still held (their credit). */
  stop(): number {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ready.length = 0;
    const held = this.held;
    this.held = 0;
    this.inGuard = 0;
    return held;
  }

  /** The guard let `bytes` through: they wait for pacing. */
  private readonly release_ = (bytes: Buffer): void => {
    if (this.stopped) return;
    this.inGuard -= bytes.length;
    if (bytes.length > 0) this.ready.push(bytes);
  };

  /** Hands ready bytes to `out`, each piece once its pacers say it is due. */
  private pump(): void {
    if (this.timer !== undefined || this.stopped) return;
    const pacers = this.opts.pacers;
    while (this.ready.length > 0) {
      let piece = this.ready[0]!;
      if (piece.length > PIECE_BYTES) {
        this.ready[0] = piece.subarray(PIECE_BYTES);
        piece = piece.subarray(0, PIECE_BYTES);
      } else this.ready.shift();
      let wait = 0;
      if (pacers !== undefined) {
        const now = this.opts.now === undefined ? performance.now() : this.opts.now();
        for (const p of pacers) wait = Math.max(wait, p.pace(piece.length, now));
      }
      if (wait > 0) {
        // Paid for, but not yet due: hold it (and everything after it) until it is.
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (this.stopped) return;
          this.release(piece, this.ready.length === 0 && this.readyEnd);
          this.pump();
        }, wait);
        return;
      }
      this.release(piece, this.ready.length === 0 && this.readyEnd);
      if (this.stopped) return;
    }
    if (this.readyEnd && this.held === 0 && !this.endSent) this.release(EMPTY, true);
  }

  private release(piece: Buffer, endStream: boolean): void {
    if (endStream) {
      if (this.endSent) return;
      this.endSent = true;
    }
    this.held -= piece.length;
    this.opts.out(piece, endStream);
  }
}

const EMPTY = Buffer.alloc(0);
