// HTTP/2 (h2c) sessions to the local app (data path, connection management).
// One multiplexed session is kept; it is replaced when it closes, errors or receives
// GOAWAY, so an app restart is followed by a fresh connection on the next call.

import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import type { HostPort } from '../config/schema.js';
import { log } from '../core/log.js';

export class UpstreamPool {
  private session: ClientHttp2Session | undefined;
  private readonly origin: string;
  private reachable = true;
  private closed = false;

  constructor(readonly target: HostPort) {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    this.origin = `http://${host}:${target.port}`;
  }

  /** Opens a stream to the app. Connection failures arrive as the stream's 'error'/'close'. */
  request(headers: OutgoingHttpHeaders): ClientHttp2Stream {
    if (this.closed) throw new Error('upstream pool closed');
    try {
      return this.current().request(headers, { endStream: false });
    } catch (err) {
      // The session died between our check and the call (or ran out of stream ids).
      this.drop(this.session);
      return this.current().request(headers, { endStream: false });
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
    });
    this.session = s;
    s.on('connect', () => {
      if (!this.reachable) log.info('app reachable again', { app: this.origin });
      this.reachable = true;
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (this.reachable) log.warn('app connection failed', { app: this.origin, error: err.code ?? err.message });
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
