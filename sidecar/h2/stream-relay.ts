// Relays one call between a caller's stream (server side) and the app's stream (client side)
// — data path, one small object per call. DATA goes on as received, its 9-byte header
// rewritten; flow-control credit goes back to the sender only once the bytes have left on
// the other side, so a slow reader slows the writer through windows, never through
// buffering. Response headers, trailers and trailers-only answers are passed on; resets
// go both ways; a lost or refused upstream becomes gRPC 14 UNAVAILABLE. The owner's body
// hooks are honoured: a guard sees each request DATA payload first; a message guard holds
// request messages until it released them (and may keep the app's stream unopened until the
// first one passed), and either direction can be paced (relay-lane.ts).

import { ErrorCode } from './constants.js';
import { RelayLane, type LaneGuard, type LanePacer } from './relay-lane.js';
import type { H2Stream, StreamHandler } from './stream.js';
import type { H2UpstreamPool } from './upstream-pool.js';

/** What the owner of a relay (the forwarder) may add: its own answers and bookkeeping. */
export interface RelayEvents<R = never> {
  /** The app could not be reached or dropped the call before answering. Default: gRPC 14. */
  upstreamFailed?(relay: StreamRelay<R>, code: number): void;
  /** The call is over on both sides (cleanly or not). */
  finished?(relay: StreamRelay<R>): void;
}

/** The owner's body hooks (a Rejection type `R` of its own). */
export interface RelayHooks<R> {
  /** Each request DATA payload, in order, before anything else; a value ends the call. */
  readonly requestGuard?: { check(chunk: Buffer): R | undefined };
  /**
   * Request bytes held until the guard released them (whole checked messages); `failed` ends
   * the call when it throws. `holdFirst`: the app's stream opens only once the guard released
   * something (or the request ended clean), so a refused first message never reaches the app.
   */
  readonly messageGuard?: { readonly guard: LaneGuard<R>; readonly failed: R; readonly holdFirst: boolean };
  readonly requestPacers?: readonly LanePacer[];
  readonly responsePacers?: readonly LanePacer[];
  /** A hook refused the call: the app's stream is cancelled; the owner answers the caller. */
  refused(rejection: R): void;
}

const UNAVAILABLE_REPLY: readonly string[] = Object.freeze([
  ':status', '200', 'content-type', 'application/grpc', 'grpc-status', '14', 'grpc-message', 'upstream unavailable',
]);
const UNAVAILABLE_TRAILERS: readonly string[] = Object.freeze(['grpc-status', '14', 'grpc-message', 'upstream unavailable']);

export class StreamRelay<R = never> implements StreamHandler {
  up: H2Stream | undefined = undefined;
  /** Request octets queued on `up` whose credit `down` has not had back yet; and the reverse. */
  private upHeld = 0;
  private downHeld = 0;
  private over = false;
  /** A hook refused the call: nothing more is relayed either way. */
  private refusedCall = false;
  private requestLane: RelayLane<R> | undefined;
  private responseLane: RelayLane<R> | undefined;
  /** The app's trailers, waiting behind response DATA held by the response lane. */
  private trailersWaiting: string[] | undefined;
  /** The app's stream opens with the first bytes the message guard releases (holdFirst). */
  private deferred: { readonly pool: H2UpstreamPool; readonly headers: readonly string[] } | undefined;

  constructor(
    readonly down: H2Stream,
    private readonly events: RelayEvents<R> = {},
    private readonly hooks?: RelayHooks<R>,
    /** false: the caller's stream keeps its handler (an exchange), which passes its events on. */
    takeDown = true,
  ) {
    if (takeDown) down.handler = this;
    if (hooks?.messageGuard !== undefined || hooks?.requestPacers !== undefined) {
      this.requestLane = new RelayLane<R>({
        pacers: hooks.requestPacers,
        guard: hooks.messageGuard,
        out: this.toApp,
        refused: this.refuse,
        dropped: (n) => this.down.consumed(n),
      });
    }
    if (hooks?.responsePacers !== undefined) {
      this.responseLane = new RelayLane<R>({ pacers: hooks.responsePacers, out: this.toCaller, refused: this.refuse, dropped: (n) => this.up?.consumed(n) });
    }
  }

  /**
   * Opens the app's stream; false (and gRPC 14 to the caller) when no upstream could take it.
   * With a holdFirst message guard it opens later, when the guard first releases bytes.
   */
  start(pool: H2UpstreamPool, headers: readonly string[], endStream: boolean): boolean {
    if (this.hooks?.messageGuard?.holdFirst === true) {
      this.deferred = { pool, headers };
      // A request without a body: the guard's verdict on "no message" opens (or refuses) now.
      if (endStream) this.requestLane!.push(EMPTY, true);
      return true;
    }
    return this.open(pool, headers, endStream);
  }

  private open(pool: H2UpstreamPool, headers: readonly string[], endStream: boolean): boolean {
    const up = pool.open(headers, endStream, this);
    if (up === undefined) {
      this.fail(ErrorCode.REFUSED_STREAM);
      return false;
    }
    this.up = up;
    return true;
  }

  /**
   * Ends the call now from our side: the app's stream is cancelled; `reply` goes to the caller
   * (response headers with END_STREAM when none went out yet, else trailers), or without one
   * the caller's stream is reset (CANCEL).
   */
  abort(reply?: { readonly headersOnly: readonly string[]; readonly trailers: readonly string[] }): void {
    this.stopLanes();
    this.cancelUp();
    const down = this.down;
    if (!down.closed) {
      if (reply === undefined) down.reset(ErrorCode.CANCEL);
      else if (!down.headersSent) down.respond(reply.headersOnly, true);
      else down.trailers(reply.trailers);
    }
    this.finish();
  }

  // ---- StreamHandler (both streams) ------------------------------------------------

  onResponse(stream: H2Stream, headers: string[], _status: number, endStream: boolean): void {
    if (stream !== this.up || this.down.closed || this.refusedCall) return;
    this.down.respond(headers, endStream);
  }

  onData(stream: H2Stream, buf: Buffer, frameOff: number, dataOff: number, dataLen: number, endStream: boolean): void {
    if (stream === this.down) return this.onRequestData(buf, frameOff, dataOff, dataLen, endStream);
    const down = this.down;
    if (down.closed || this.refusedCall) return stream.consumed(dataLen);
    const lane = this.responseLane;
    if (lane !== undefined) return lane.push(buf.subarray(dataOff, dataOff + dataLen), endStream);
    const queued = down.relay(buf, frameOff, dataOff, dataLen, endStream);
    this.downHeld += queued;
    if (dataLen > queued) stream.consumed(dataLen - queued);
  }

  private onRequestData(buf: Buffer, frameOff: number, dataOff: number, dataLen: number, endStream: boolean): void {
    const down = this.down;
    const up = this.up;
    if (this.refusedCall || (up === undefined ? this.deferred === undefined : up.closed)) return down.consumed(dataLen);
    const guard = this.hooks?.requestGuard;
    if (guard !== undefined && dataLen > 0) {
      const r = guard.check(buf.subarray(dataOff, dataOff + dataLen));
      if (r !== undefined) {
        // The refused bytes are never written to the app.
        down.consumed(dataLen);
        return this.refuse(r);
      }
    }
    const lane = this.requestLane;
    if (lane !== undefined) return lane.push(buf.subarray(dataOff, dataOff + dataLen), endStream);
    const queued = up!.relay(buf, frameOff, dataOff, dataLen, endStream);
    this.upHeld += queued;
    if (dataLen > queued) down.consumed(dataLen - queued);
  }

  /** Released request bytes (from the request lane) to the app. */
  private readonly toApp = (data: Buffer, endStream: boolean): void => {
    const d = this.deferred;
    if (d !== undefined && this.up === undefined) {
      this.deferred = undefined;
      if (!this.open(d.pool, d.headers, endStream && data.length === 0)) return this.down.consumed(data.length);
      if (data.length === 0) return;
    }
    const up = this.up;
    if (up === undefined || up.closed) return this.down.consumed(data.length);
    const queued = up.write(data, endStream);
    this.upHeld += queued;
    if (data.length > queued) this.down.consumed(data.length - queued);
  };

  /** Released response bytes (from the response lane) to the caller; the app's trailers last. */
  private readonly toCaller = (data: Buffer, endStream: boolean): void => {
    const down = this.down;
    if (down.closed) return this.up?.consumed(data.length);
    const trailers = endStream ? this.trailersWaiting : undefined;
    const queued = data.length > 0 || trailers === undefined ? down.write(data, endStream && trailers === undefined) : 0;
    this.downHeld += queued;
    if (data.length > queued) this.up?.consumed(data.length - queued);
    if (trailers !== undefined) down.trailers(trailers);
  };

  onTrailers(stream: H2Stream, headers: string[]): void {
    if (this.refusedCall) return;
    if (stream === this.up) {
      if (this.down.closed) return;
      if (this.responseLane !== undefined) {
        this.trailersWaiting = headers;
        this.responseLane.push(EMPTY, true);
      } else this.down.trailers(headers);
    } else if (this.up !== undefined && !this.up.closed) {
      this.up.trailers(headers); // request trailers (rare for gRPC, allowed by HTTP)
    }
  }

  onSent(stream: H2Stream, bytes: number): void {
    if (stream === this.up) {
      this.upHeld -= bytes;
      this.down.consumed(bytes);
    } else if (this.up !== undefined) {
      this.downHeld -= bytes;
      this.up.consumed(bytes);
    }
  }

  onReset(stream: H2Stream, code: number, byPeer: boolean): void {
    this.stopLanes();
    if (stream === this.down) {
      // The caller cancelled (or its connection went): the app's side stops too.
      this.cancelUp(byPeer && code !== ErrorCode.NO_ERROR ? code : ErrorCode.CANCEL);
      return this.finish();
    }
    this.returnCredit();
    const down = this.down;
    if (down.closed || this.refusedCall) return this.finish();
    // A reset the app chose (not "refused", not a lost connection) is passed on as is.
    const appChose = byPeer && code !== ErrorCode.REFUSED_STREAM && code !== ErrorCode.NO_ERROR;
    if (!down.headersSent) {
      if (appChose) down.reset(code);
      else this.fail(code);
    } else if (appChose) down.reset(code);
    else down.trailers(UNAVAILABLE_TRAILERS); // connection lost mid-call
    this.finish();
  }

  onComplete(stream: H2Stream): void {
    if (stream === this.down) {
      // The caller's side is done: if the app's is not (it still sends), it is cut off.
      this.stopLanes();
      this.cancelUp();
      this.finish();
    }
  }

  // ----------------------------------------------------------------------------------

  /** A body hook refused the call: stop relaying, cancel the app's stream, let the owner answer. */
  private readonly refuse = (r: R): void => {
    if (this.refusedCall) return;
    this.refusedCall = true;
    this.stopLanes();
    this.cancelUp();
    this.hooks!.refused(r);
  };

  private fail(code: number): void {
    if (this.events.upstreamFailed !== undefined) return this.events.upstreamFailed(this, code);
    if (!this.down.closed && !this.down.headersSent) this.down.respond(UNAVAILABLE_REPLY, true);
  }

  private cancelUp(code: number = ErrorCode.CANCEL): void {
    const up = this.up;
    // Not a stream that is finishing cleanly (both ends sent, being closed right now).
    if (up !== undefined && !up.closed && !(up.localEnded && up.remoteEnded)) up.reset(code);
    this.returnCredit();
  }

  /** The lanes stop; credit for what they held goes back to its sender. */
  private stopLanes(): void {
    if (this.requestLane !== undefined) {
      const n = this.requestLane.stop();
      if (n > 0) this.down.consumed(n);
    }
    if (this.responseLane !== undefined) {
      const n = this.responseLane.stop();
      if (n > 0) this.up?.consumed(n);
    }
  }

  /** Credit for octets that were queued on a stream now gone goes back to their sender. */
  private returnCredit(): void {
    if (this.upHeld > 0) {
      this.down.consumed(this.upHeld);
      this.upHeld = 0;
    }
    if (this.downHeld > 0 && this.up !== undefined) {
      this.up.consumed(this.downHeld);
      this.downHeld = 0;
    }
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    this.events.finished?.(this);
  }
}

const EMPTY = Buffer.alloc(0);
