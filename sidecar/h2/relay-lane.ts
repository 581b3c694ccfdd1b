// One direction of a relayed call when something must hold its bytes (data path): whole
// request messages held until every check passed them, then pacing (bandwidth). Bytes wait
// here without their flow-control credit going back, so the sender is slowed by windows,
// not buffered without bound. Without checks or pacers a relay never builds a lane.

/** How long to hold `bytes` about to be relayed at `now` (ms); 0 = now (a bandwidth pacer). */
export interface LanePacer {
  pace(bytes: number, now: number): number;
}

/** A verdict on one complete length-prefixed message: undefined passes it. */
export interface LaneCheck<R> {
  check(message: Buffer): R | undefined | Promise<R | undefined>;
}

/** Splits bytes into complete length-prefixed messages (the gRPC message framer). */
export interface LaneFramer {
  push(chunk: Buffer): void;
  next(): Buffer | undefined;
  readonly buffered: number;
}

export interface LaneOptions<R> {
  readonly pacers?: readonly LanePacer[];
  /** Message checks, with the framer that cuts the bytes into messages. */
  readonly checks?: { readonly framer: LaneFramer; readonly guards: readonly LaneCheck<R>[]; readonly failed: R };
  /** Where released bytes go (the other stream). */
  readonly out: (data: Buffer, endStream: boolean) => void;
  /** A check refused a message: the lane stops; the owner ends the call. */
  readonly refused: (rejection: R) => void;
  /** Bytes the lane took in and will never release (an incomplete last message): their credit. */
  readonly dropped: (bytes: number) => void;
  readonly now?: () => number;
}

/** Pieces of at most this size are paced one by one, so a large chunk flows out smoothly. */
const PIECE_BYTES = 16_384;

export class RelayLane<R> {
  /** Released by the checks (or not checked), waiting for pacing. */
  private readonly ready: Buffer[] = [];
  private readyEnd = false;
  private inputEnded = false;
  private checking = false;
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
    if (endStream) this.inputEnded = true;
    const checks = this.opts.checks;
    if (checks === undefined) {
      if (data.length > 0) this.ready.push(data);
      if (endStream) this.readyEnd = true;
      return this.pump();
    }
    if (data.length > 0) checks.framer.push(data);
    this.check();
  }

  /** The call ended: nothing more is released; returns the octets still held (their credit). */
  stop(): number {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ready.length = 0;
    const held = this.held;
    this.held = 0;
    return held;
  }

  /** Releases complete messages the checks pass, in order; waits while one is checked. */
  private check(): void {
    const checks = this.opts.checks!;
    while (!this.checking && !this.stopped) {
      const message = checks.framer.next();
      if (message === undefined) break;
      const verdict = this.verdict(message, 0);
      if (verdict instanceof Promise) {
        this.checking = true;
        verdict.then(
          (r) => this.settle(message, r),
          () => this.settle(message, checks.failed),
        );
        return;
      }
      if (verdict !== undefined) return this.refuse(verdict);
      this.ready.push(message);
    }
    if (this.checking || this.stopped) return;
    if (this.inputEnded) {
      // An incomplete last message never passed the checks: it is not relayed.
      const rest = checks.framer.buffered;
      if (rest > 0 && !this.readyEnd) {
        this.held -= rest;
        this.opts.dropped(rest);
      }
      this.readyEnd = true;
    }
    this.pump();
  }

  private settle(message: Buffer, r: R | undefined): void {
    this.checking = false;
    if (this.stopped) return;
    if (r !== undefined) return this.refuse(r);
    this.ready.push(message);
    this.check();
  }

  /** Every check in order, synchronously until one answers with a promise. */
  private verdict(message: Buffer, from: number): R | undefined | Promise<R | undefined> {
    const { guards, failed } = this.opts.checks!;
    for (let i = from; i < guards.length; i++) {
      let r: R | undefined | Promise<R | undefined>;
      try {
        r = guards[i]!.check(message);
      } catch {
        return failed;
      }
      if (r instanceof Promise) return r.then((v) => (v === undefined ? this.verdict(message, i + 1) : v));
      if (r !== undefined) return r;
    }
    return undefined;
  }

  private refuse(r: R): void {
    this.opts.refused(r);
  }

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
