// HTTP/2 sessions to one upstream (data path, connection management): h2c to the local
// app, or mTLS to a remote sidecar (outbound routes). One multiplexed session is kept; it
// is replaced when it closes, errors or receives GOAWAY, so an app restart is followed by a
// fresh connection on the next call; `refresh()` (certificate rotation) moves new calls to
// a new session and lets the old one finish its streams.

import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import type { ConnectionOptions } from 'node:tls';
import type { HostPort } from '../core/host-port.js';
import { log } from '../core/log.js';

const REFRESH_CLOSE_DELAY_MS = 1000;

export interface UpstreamOptions {
  /** TLS for each new connection (read at connect time, so rotated certificates apply). */
  readonly tls?: () => ConnectionOptions;
}

/** Node copies the options of each request; one shared object spares a literal per call. */
const REQUEST_OPTIONS: Readonly<http2.ClientSessionRequestOptions> = Object.freeze({ endStream: false });

export class UpstreamPool {
  private session: ClientHttp2Session | undefined;
  private readonly origin: string;
  private reachable = true;
  private closed = false;

  constructor(
    readonly target: HostPort,
    private readonly options: UpstreamOptions = {},
  ) {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    this.origin = `${options.tls === undefined ? 'http' : 'https'}://${host}:${target.port}`;
  }

  /** New calls go to a new session; the current one closes once its streams finish. */
  refresh(): void {
    const old = this.session;
    this.session = undefined;
    if (old === undefined || old.closed || old.destroyed) return;
    // Not at once: a GOAWAY sent now would overtake HEADERS of streams opened on this
    // session in the same turn, and nghttp2 would refuse them (REFUSED_STREAM).
    setTimeout(() => old.close(), REFRESH_CLOSE_DELAY_MS).unref();
  }

  /** Opens a stream to the app. Connection failures arrive as the stream's 'error'/'close'. */
  request(headers: OutgoingHttpHeaders): ClientHttp2Stream {
    if (this.closed) throw new Error('upstream pool closed');
    try {
      return this.current().request(headers, REQUEST_OPTIONS);
    } catch (err) {
      // The session died between our check and the call (or ran out of stream ids).
      this.drop(this.session);
      return this.current().request(headers, REQUEST_OPTIONS);
    }
  }

  private current(): ClientHttp2Session {
    const s = this.session;
    if (s !== undefined && !s.closed && !s.destroyed) return s;
    return this.connect();
  }

  private connect(): ClientHttp2Session {
    const s = http2.connect(this.origin, {
      settings: { enablePush: false, initialWindowSize: 1 << 20 },
      maxSessionMemory: 32,
      ...this.options.tls?.(),
    });
    this.session = s;
    s.on('connect', () => {
      if (!this.reachable) log.info('upstream reachable again', { upstream: this.origin });
      this.reachable = true;
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (this.reachable) log.warn('upstream connection failed', { upstream: this.origin, error: err.code ?? err.message });
      this.reachable = false;
    });
    s.on('goaway', () => this.drop(s));
    s.on('close', () => this.drop(s));
    return s;
  }

  private drop(s: ClientHttp2Session | undefined): void {
    if (s !== undefined && this.session === s) this.session = undefined;
  }

  /** Closes the session gracefully (in-flight streams finish), then stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    const s = this.session;
    this.session = undefined;
    if (s === undefined || s.closed || s.destroyed) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  destroy(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }
}
