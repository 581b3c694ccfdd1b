// Per-connection guards of the HTTP/2 listeners (data path, connection level): the first
// request and every header block must arrive in time (slowloris), streams over the
// concurrency limit are refused one by one, client resets and refusals share one budget
// (rapid reset), and a session that nghttp2 has given up on is destroyed at once.
//
// Why the last one: on Node 20, after a connection error (DATA on stream 0, a PING of
// length 7, bytes that are not frames…) nghttp2 sends GOAWAY and stops reading, but
// node:http2 never tells JavaScript and never closes the socket — it would sit in
// CLOSE-WAIT holding a descriptor and a `maxConnections` slot until the idle timeout
// (Node 24 destroys such sessions itself). The only trace is that nothing can be sent on
// it any more: a PING submitted to it stays in nghttp2's outbound queue although the
// socket has nothing left to write. A quiet connection gets one such probe; a live one
// sends the PING (and its peer acknowledges it), a dead one keeps it queued.

import http2, { type Http2Session, type ServerHttp2Stream } from 'node:http2';
import { log } from '../core/log.js';

export interface GuardLimits {
  readonly maxConcurrentStreams: number;
  readonly maxResetsPerConnection: number;
  readonly firstRequestTimeout: number;
  readonly requestHeadersTimeout: number;
  readonly idleTimeout: number;
}

/** Client resets and refused streams are counted over this window (rapid reset, CVE-2023-44487). */
const RESET_WINDOW_MS = 10_000;
/** The sweep runs at least this often; shorter timeouts make it run more often. */
const MAX_SWEEP_MS = 1_000;
const MIN_SWEEP_MS = 50;
/** A probe PING not acknowledged this long ends the connection (gRPC's keepalive timeout is 20 s too). */
const PROBE_TIMEOUT_MS = 20_000;

const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/**
 * SETTINGS_MAX_CONCURRENT_STREAMS to advertise for a limit: nghttp2 treats a HEADERS frame
 * over the acknowledged value as a connection error (every call on the connection lost),
 * so it is told twice the limit and meshward refuses the streams in between itself, one by
 * one (RFC 9113 §5.1.2 allows either).
 */
export function advertisedMaxStreams(limit: number): number {
  return limit * 2;
}

/** The connections of one listener, swept on one timer. */
export class ConnectionGuard {
  private readonly watches = new Set<SessionWatch>();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly limits: GuardLimits) {
    const shortest = Math.min(limits.firstRequestTimeout, limits.requestHeadersTimeout);
    const every = Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, Math.floor(shortest / 4)));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
  }

  watch(session: Http2Session): SessionWatch {
    const w = new SessionWatch(session, this.limits);
    this.watches.add(w);
    session.once('close', () => this.watches.delete(w));
    return w;
  }

  get size(): number {
    return this.watches.size;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sweep(): void {
    const now = performance.now();
    for (const w of this.watches) if (!w.check(now)) this.watches.delete(w);
  }
}

/** A PING frame: 9 bytes of header, 8 of payload. */
const PING_FRAME_BYTES = 17;

interface Probe {
  readonly bytesRead: number;
  readonly sentAt: number;
  acked: boolean;
}

/** What the guard knows of one connection; its handlers are shared by the connection's streams. */
export class SessionWatch {
  private readonly openedAt = performance.now();
  /** Streams handed on (not refused) and not yet closed. */
  private active = 0;
  private highestStreamId = 0;
  /** Last time a header block completed, or a PING or SETTINGS arrived: the peer made progress. */
  private progressAt = this.openedAt;
  private windowStart = 0;
  private resets = 0;
  private lastBytesRead = 0;
  private lastBytesWritten = 0;
  /**
   * bytesRead once the last probe was answered, counting only the PING ACK: no new probe until
   * more arrives (an ACK sent together with bytes that kill the session gets a second probe).
   */
  private probedAtBytes = -1;
  private probe: Probe | undefined;
  /** A header block that began (nghttp2 saw its HEADERS frame) and has not been handed on. */
  private pendingBlock = 0;
  private pendingSince = 0;

  constructor(
    private readonly session: Http2Session,
    private readonly limits: GuardLimits,
  ) {
    session.on('ping', this.onProgress);
    session.on('remoteSettings', this.onProgress);
    session.setTimeout(limits.idleTimeout, this.drain);
  }

  /** For each new stream: false when it was refused (over the concurrency limit). */
  admit(stream: ServerHttp2Stream): boolean {
    const id = stream.id ?? 0;
    if (id > this.highestStreamId) this.highestStreamId = id;
    this.progressAt = performance.now();
    if (this.active >= this.limits.maxConcurrentStreams) {
      stream.close(NGHTTP2_REFUSED_STREAM);
      this.onReset();
      return false;
    }
    this.active++;
    stream.once('close', this.onStreamClose);
    stream.on('aborted', this.onReset);
    return true;
  }

  /** Counts a client reset or a refused stream against the budget; over it, the connection goes. */
  readonly onReset = (): void => {
    const now = performance.now();
    if (now - this.windowStart > RESET_WINDOW_MS) {
      this.windowStart = now;
      this.resets = 0;
    }
    if (++this.resets > this.limits.maxResetsPerConnection && !this.session.destroyed) {
      log.warn('too many stream resets: closing connection', { resets: this.resets });
      this.end(NGHTTP2_ENHANCE_YOUR_CALM);
    }
  };

  private readonly onStreamClose = (): void => {
    this.active--;
  };

  private readonly onProgress = (): void => {
    this.progressAt = performance.now();
  };

  /**
   * Idle timeout and shutdown: a connection without streams goes at once (GOAWAY, then the
   * socket is destroyed — a graceful close would wait for the peer's FIN); one with streams
   * is closed gracefully and its streams finish.
   */
  readonly drain = (): void => {
    if (this.session.destroyed || this.session.closed) return;
    if (this.active > 0) this.session.close();
    else this.end(NGHTTP2_NO_ERROR);
  };

  /** One sweep; false once the session is gone (the guard forgets it). */
  check(now: number): boolean {
    const session = this.session;
    if (session.destroyed) return false;
    if (session.closed) return true; // draining gracefully: its streams decide
    if (this.highestStreamId === 0 && now - this.openedAt >= this.limits.firstRequestTimeout) {
      log.debug('connection closed: no request in time', { timeoutMs: this.limits.firstRequestTimeout });
      return this.end(NGHTTP2_NO_ERROR);
    }
    let bytesRead: number;
    let bytesWritten: number;
    try {
      bytesRead = session.socket.bytesRead;
      bytesWritten = session.socket.bytesWritten;
    } catch {
      return false; // the socket is gone already
    }
    const quiet = bytesRead === this.lastBytesRead;
    const stalled = bytesWritten === this.lastBytesWritten;
    this.lastBytesRead = bytesRead;
    this.lastBytesWritten = bytesWritten;
    if (!quiet || this.pendingBlock !== 0) {
      if (this.headerBlockTooSlow(now)) {
        log.debug('connection closed: header block not complete in time', { timeoutMs: this.limits.requestHeadersTimeout });
        return this.end(NGHTTP2_NO_ERROR);
      }
    }
    return this.checkAlive(now, quiet && stalled, bytesRead);
  }

  /**
   * nghttp2 counts a stream as processed when its HEADERS frame begins; node:http2 hands it
   * on when the block is complete. A block begun longer ago than the timeout, with no
   * progress of the peer since, is a slowloris (or a stalled peer).
   */
  private headerBlockTooSlow(now: number): boolean {
    const begun = this.session.state.lastProcStreamID ?? 0;
    if (begun <= this.highestStreamId) {
      this.pendingBlock = 0;
      return false;
    }
    if (begun !== this.pendingBlock) {
      this.pendingBlock = begun;
      this.pendingSince = now;
      return false;
    }
    return now - this.pendingSince >= this.limits.requestHeadersTimeout && this.progressAt < this.pendingSince;
  }

  /** Probes a connection quiet both ways once per quiet spell; a dead one is destroyed. */
  private checkAlive(now: number, quiet: boolean, bytesRead: number): boolean {
    const probe = this.probe;
    if (probe !== undefined) {
      if (probe.acked) {
        this.probe = undefined;
        this.probedAtBytes = probe.bytesRead + PING_FRAME_BYTES;
        return true;
      }
      if (quiet && this.cannotSend()) {
        log.debug('connection closed: HTTP/2 session no longer sends (connection error)');
        return this.end(NGHTTP2_NO_ERROR);
      }
      if (this.peerGone()) {
        log.debug('connection closed: the peer reset it while the session was not reading');
        return this.end(NGHTTP2_NO_ERROR);
      }
      if (now - probe.sentAt >= PROBE_TIMEOUT_MS) {
        log.debug('connection closed: PING not answered', { timeoutMs: PROBE_TIMEOUT_MS });
        return this.end(NGHTTP2_NO_ERROR);
      }
      return true;
    }
    if (quiet && bytesRead !== this.probedAtBytes) this.sendProbe(now, bytesRead);
    return true;
  }

  private sendProbe(now: number, bytesRead: number): void {
    const probe: Probe = { bytesRead, sentAt: now, acked: false };
    try {
      this.session.ping((err) => {
        if (err === null) probe.acked = true;
      });
      this.probe = probe;
    } catch {
      // Too many PINGs outstanding, or closing: the next sweep looks again.
    }
  }

  /**
   * Called a sweep after the probe, with nothing read or written since the last sweep: the
   * PING is still in nghttp2's queue, and the socket has no write of its own pending, so
   * nghttp2 will not send again. (A peer that reads slowly keeps bytes in the socket's write
   * queue instead, and a live session hands the PING to the socket at once.)
   */
  private cannotSend(): boolean {
    const socket = this.session.socket as unknown as { _handle?: { writeQueueSize?: number } | null };
    if (this.session.state.outboundQueueSize === 0) return false;
    const pending = socket._handle?.writeQueueSize;
    return pending === undefined ? this.active === 0 : pending === 0;
  }

  /**
   * The TCP connection is gone (reset by the peer) although the socket is open: a session
   * that stopped reading never sees the reset, and a write it left pending never completes.
   */
  private peerGone(): boolean {
    const handle = (this.session.socket as unknown as { _handle?: { getpeername?: (out: object) => number } | null })._handle;
    return typeof handle?.getpeername === 'function' && handle.getpeername({}) !== 0;
  }

  /** GOAWAY with `code`, then the session and its socket are destroyed (the descriptor is freed). */
  private end(code: number): false {
    if (!this.session.destroyed) this.session.destroy(undefined, code);
    return false;
  }
}
