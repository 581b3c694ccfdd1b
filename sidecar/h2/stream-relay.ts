// Relays one call between a caller's stream (server side) and the app's stream (client side)
// — data path, one small object per call. DATA goes on as received, its 9-byte header
// rewritten; flow-control credit goes back to the sender only once the bytes have left on
// the other side, so a slow reader slows the writer through windows, never through
// buffering. Response headers, trailers and trailers-only answers are passed on; resets
// go both ways; a lost or refused upstream becomes gRPC 14 UNAVAILABLE.

import { ErrorCode } from './constants.js';
import type { H2Stream, StreamHandler } from './stream.js';
import type { H2UpstreamPool } from './upstream-pool.js';

/** What the owner of a relay (the forwarder) may add: its own answers and bookkeeping. */
export interface RelayEvents {
  /** The app could not be reached or dropped the call before answering. Default: gRPC 14. */
  upstreamFailed?(relay: StreamRelay, code: number): void;
  /** The call is over on both sides (cleanly or not). */
  finished?(relay: StreamRelay): void;
}

const UNAVAILABLE_REPLY: readonly string[] = Object.freeze([
  ':status', '200', 'content-type', 'application/grpc', 'grpc-status', '14', 'grpc-message', 'upstream unavailable',
]);
const UNAVAILABLE_TRAILERS: readonly string[] = Object.freeze(['grpc-status', '14', 'grpc-message', 'upstream unavailable']);

export class StreamRelay implements StreamHandler {
  up: H2Stream | undefined = undefined;
  /** Request octets queued on `up` whose credit `down` has not had back yet; and the reverse. */
  private upHeld = 0;
  private downHeld = 0;
  private over = false;

  constructor(
    readonly down: H2Stream,
    private readonly events: RelayEvents = {},
  ) {
    down.handler = this;
  }

  /** Opens the app's stream; false (and gRPC 14 to the caller) when no upstream could take it. */
  start(pool: H2UpstreamPool, headers: readonly string[], endStream: boolean): boolean {
    const up = pool.open(headers, endStream, this);
    if (up === undefined) {
      this.fail(ErrorCode.REFUSED_STREAM);
      return false;
    }
    this.up = up;
    return true;
  }

  /** Ends the call now from our side: the app's stream is cancelled; `reply` (if any) goes to the caller. */
  abort(replyHeaders?: readonly string[]): void {
    this.cancelUp();
    const down = this.down;
    if (!down.closed) {
      if (replyHeaders === undefined) down.reset(ErrorCode.CANCEL);
      else if (!down.headersSent) down.respond(replyHeaders, true);
      else down.trailers(replyHeaders);
    }
    this.finish();
  }

  // ---- StreamHandler (both streams) ------------------------------------------------

  onResponse(stream: H2Stream, headers: string[], _status: number, endStream: boolean): void {
    if (stream !== this.up || this.down.closed) return;
    this.down.respond(headers, endStream);
  }

  onData(stream: H2Stream, buf: Buffer, frameOff: number, dataOff: number, dataLen: number, endStream: boolean): void {
    if (stream === this.down) {
      const up = this.up;
      if (up === undefined || up.closed) return stream.consumed(dataLen);
      const queued = up.relay(buf, frameOff, dataOff, dataLen, endStream);
      this.upHeld += queued;
      if (dataLen > queued) stream.consumed(dataLen - queued);
    } else {
      const down = this.down;
      if (down.closed) return stream.consumed(dataLen);
      const queued = down.relay(buf, frameOff, dataOff, dataLen, endStream);
      this.downHeld += queued;
      if (dataLen > queued) stream.consumed(dataLen - queued);
    }
  }

  onTrailers(stream: H2Stream, headers: string[]): void {
    if (stream === this.up) {
      if (!this.down.closed) this.down.trailers(headers);
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
    if (stream === this.down) {
      // The caller cancelled (or its connection went): the app's side stops too.
      this.returnCredit();
      this.cancelUp(byPeer && code !== ErrorCode.NO_ERROR ? code : ErrorCode.CANCEL);
      return this.finish();
    }
    this.returnCredit();
    const down = this.down;
    if (down.closed) return this.finish();
    // A reset the app chose (not "refused", not a lost connection) is passed on as is.
    const appChose = byPeer && code !== ErrorCode.REFUSED_STREAM && code !== ErrorCode.NO_ERROR;
    if (!down.headersSent) {
      if (appChose) down.reset(code);
      else this.fail(code);
    } else if (appChose) down.reset(code);
    else down.trailers(UNAVAILABLE_TRAILERS); // connection lost mid-call
    this.finish();
  }

  onClose(stream: H2Stream): void {
    if (stream === this.down) {
      // The caller's side is done: if the app's is not (it still sends), it is cut off.
      this.cancelUp();
      this.finish();
    }
  }

  // ----------------------------------------------------------------------------------

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
