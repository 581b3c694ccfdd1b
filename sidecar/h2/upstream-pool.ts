// Multiplexed HTTP/2 client connections of the own codec to one upstream (data path,
// connection management): h2c to the local app, or TLS to a remote sidecar. Streams go on
// the first connection that may open one under the upstream's SETTINGS_MAX_CONCURRENT_STREAMS;
// another connection is opened when all are full. A connection that closes or receives
// GOAWAY takes no new streams, so after an app restart the next call connects afresh.

import net from 'node:net';
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls';
import { H2Connection } from './connection.js';
import type { H2Options } from './options.js';
import type { H2Stream, StreamHandler } from './stream.js';

export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
  /** TLS for each new connection, read at connect time (rotated certificates apply). */
  readonly tls?: () => ConnectionOptions;
  /**
   * Checks the TLS peer once the handshake is done (the route's SPIFFE ID); a string is why
   * it is refused: the connection is closed and its streams fail.
   */
  readonly verifyPeer?: (socket: TLSSocket) => string | undefined;
  /** Told once when the upstream stops answering, and once when it answers again. */
  readonly onReachability?: (reachable: boolean, detail: string) => void;
}

export class H2UpstreamPool {
  private conns: H2Connection[] = [];
  private closed = false;
  private reachable = true;
  /** The upstream's SETTINGS_MAX_CONCURRENT_STREAMS as last seen: new connections assume it. */
  private knownMaxStreams = 100;

  constructor(
    readonly target: UpstreamTarget,
    private readonly options: H2Options,
    private readonly maxConnections = 16,
  ) {}

  /** Open connections (for tests and stats). */
  get connections(): readonly H2Connection[] {
    return this.conns;
  }

  /** Opens a stream with its request HEADERS; undefined when no connection can take it. */
  open(headers: readonly string[], endStream: boolean, handler: StreamHandler): H2Stream | undefined {
    if (this.closed) return undefined;
    for (const c of this.conns) {
      if (c.canOpenStream()) return c.request(headers, endStream, handler);
    }
    if (this.conns.length >= this.maxConnections) return undefined;
    return this.connect().request(headers, endStream, handler);
  }

  /** New streams go to new connections; the current ones finish theirs and close. */
  refresh(): void {
    const old = this.conns;
    this.conns = [];
    for (const c of old) c.close();
  }

  /** Graceful: in-flight streams finish, then the connections close. */
  async close(): Promise<void> {
    this.closed = true;
    const old = this.conns;
    this.conns = [];
    await Promise.all(
      old.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.socket.destroyed) return resolve();
            c.socket.once('close', () => resolve());
            c.close();
          }),
      ),
    );
  }

  destroy(): void {
    this.closed = true;
    for (const c of this.conns) c.destroy();
    this.conns = [];
  }

  private connect(): H2Connection {
    const { host, port } = this.target;
    const secure = this.target.tls;
    const socket: net.Socket =
      secure === undefined ? net.connect({ host, port, noDelay: true }) : tls.connect({ host, port, ALPNProtocols: ['h2'], ...secure() });
    const conn = new H2Connection(socket, 'client', this.options, {
      onReady: (c) => {
        this.knownMaxStreams = Math.min(c.remote.maxConcurrentStreams, 1000);
        this.setReachable(true, 'connected');
      },
      onGoaway: (c) => this.forget(c),
      onClose: (c, error) => {
        this.forget(c);
        if (error !== undefined && !error.byPeer) return;
        if (error !== undefined) this.setReachable(false, error.detail);
      },
    });
    conn.assumedPeerMaxStreams = this.knownMaxStreams;
    socket.once('error', (err: NodeJS.ErrnoException) => this.setReachable(false, err.code ?? err.message));
    const verify = this.target.verifyPeer;
    if (secure !== undefined && verify !== undefined) {
      socket.once('secureConnect', () => {
        const why = verify(socket as TLSSocket);
        if (why !== undefined) {
          this.setReachable(false, why);
          conn.destroy();
        }
      });
    }
    this.conns.push(conn);
    return conn;
  }

  private forget(c: H2Connection): void {
    const i = this.conns.indexOf(c);
    if (i >= 0) this.conns.splice(i, 1);
  }

  private setReachable(reachable: boolean, detail: string): void {
    if (reachable === this.reachable) return;
    this.reachable = reachable;
    this.target.onReachability?.(reachable, detail);
  }
}
