// The HTTP/2 listeners (data path, connection level). Inbound: TLS 1.2+ with HTTP/2,
// mutual TLS against the trust bundle, hardening limits, and — in permissive mode —
// plaintext h2c on the same port, told apart by the first byte. Outbound (`mtls: none`):
// plaintext h2c only, on loopback, for the local app. The peer identity is computed once
// per connection; streams are handed to `onStream` with it.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HostPort } from '../config/schema.js';
import { log } from '../core/log.js';
import { PLAINTEXT_PEER, peerIdentityFromSocket, type PeerIdentity } from '../identity/peer-identity.js';
import type { WorkloadIdentity } from '../identity/workload-identity.js';
import { ConnectionGuard, advertisedMaxStreams, type SessionWatch } from './connection-guard.js';
import type { StreamHandler } from './pipeline.js';

export interface InboundLimits {
  readonly maxConnections: number;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListBytes: number;
  readonly maxHeaderPairs: number;
  readonly handshakeTimeout: number;
  readonly firstRequestTimeout: number;
  readonly requestHeadersTimeout: number;
  readonly idleTimeout: number;
  readonly maxResetsPerConnection: number;
}

export interface InboundOptions {
  readonly listen: HostPort;
  /** `none`: plaintext h2c only (the outbound listener on loopback); `identity` is then unused. */
  readonly mtls: 'strict' | 'permissive' | 'none';
  readonly trustDomain: string;
  readonly identity: WorkloadIdentity;
  readonly limits: InboundLimits;
  readonly onStream: StreamHandler;
  /** HTTP/1.1 requests (GraphQL clients, DESIGN §1); without it the listener speaks HTTP/2 only. */
  readonly onHttp1?: Http1Handler;
}

export type Http1Handler = (req: IncomingMessage, res: ServerResponse, peer: PeerIdentity) => void;

export interface InboundListener {
  readonly address: AddressInfo;
  /** New handshakes use this certificate, key and trust bundle; open connections keep theirs. */
  setIdentity(identity: WorkloadIdentity): void;
  /** Stops accepting, sends GOAWAY, waits for in-flight streams up to `drainMs`, then cuts. */
  close(drainMs: number): Promise<void>;
}

/** HTTP/1.1 timeouts are checked this often (Node's default, 30 s, would stretch them). */
const HTTP1_CHECK_INTERVAL_MS = 1_000;

/** What is known of a connection, computed once when it opens and read by each of its streams. */
interface ConnectionState {
  readonly peer: PeerIdentity;
  /** Stream admission, resets, timeouts and liveness (connection-guard.ts). */
  readonly watch: SessionWatch;
}
const connections = new WeakMap<Http2Session, ConnectionState>();

export async function startInboundListener(opts: InboundOptions): Promise<InboundListener> {
  const { limits } = opts;
  const sessions = new Set<Http2Session>();
  const guard = new ConnectionGuard(limits);
  const h2Options: http2.ServerOptions = {
    settings: {
      maxConcurrentStreams: advertisedMaxStreams(limits.maxConcurrentStreams),
      maxHeaderListSize: limits.maxHeaderListBytes,
      enablePush: false,
      initialWindowSize: 1 << 20,
    },
    maxHeaderListPairs: limits.maxHeaderPairs,
    maxSessionMemory: 32,
    unknownProtocolTimeout: limits.handshakeTimeout,
  };

  const onSession = (session: Http2Session): void => {
    const socket = session.socket as TLSSocket;
    const peer = socket.encrypted === true ? peerIdentityFromSocket(socket, opts.trustDomain) : PLAINTEXT_PEER;
    if (socket.encrypted === true && !peer.authenticated) log.warn('peer certificate rejected', { reason: peer.error });
    connections.set(session, { peer, watch: guard.watch(session) });
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', (err: NodeJS.ErrnoException) => log.debug('inbound session error', { error: err.code ?? err.message }));
  };
  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void => {
    stream.on('error', ignoreStreamError);
    const conn = connections.get(stream.session!);
    if (conn !== undefined && !conn.watch.admit(stream)) return; // over the concurrency limit: refused alone
    opts.onStream(stream, headers, rawHeaders, conn?.peer ?? PLAINTEXT_PEER);
  };
  // HTTP/1.1: the peer identity is computed once per connection, like HTTP/2's.
  // In-flight requests per HTTP/1.1 connection, so a drain can close idle connections at
  // once and busy ones when their response is done.
  const http1Peers = new WeakMap<object, PeerIdentity>();
  const http1Active = new Map<net.Socket, number>();
  let closing = false;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.httpVersionMajor >= 2) return; // HTTP/2 streams are served by 'stream'
    const socket = req.socket as TLSSocket;
    let peer = http1Peers.get(socket);
    if (peer === undefined) {
      peer = socket.encrypted === true ? peerIdentityFromSocket(socket, opts.trustDomain) : PLAINTEXT_PEER;
      http1Peers.set(socket, peer);
      socket.once('close', () => http1Active.delete(socket));
    }
    http1Active.set(socket, (http1Active.get(socket) ?? 0) + 1);
    if (closing) res.shouldKeepAlive = false;
    res.once('close', () => {
      const left = (http1Active.get(socket) ?? 1) - 1;
      if (left > 0 || !http1Active.has(socket)) http1Active.set(socket, left);
      else if (closing) socket.destroySoon();
      else http1Active.set(socket, 0);
    });
    opts.onHttp1!(req, res, peer);
  };
  /** HTTP/1.1 hardening, the counterpart of the HTTP/2 settings above. */
  const harden = (server: http.Server | http2.Http2SecureServer): void => {
    const h1 = server as unknown as http.Server;
    // headersTimeout also bounds a new connection that sends nothing (Node starts it at accept).
    h1.headersTimeout = Math.min(limits.firstRequestTimeout, limits.requestHeadersTimeout);
    h1.requestTimeout = 60_000;
    // Read when the server starts listening (Http2SecureServer); plain servers take it as an option.
    (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = HTTP1_CHECK_INTERVAL_MS;
    h1.keepAliveTimeout = 5_000;
    h1.maxHeadersCount = limits.maxHeaderPairs;
    // Over it, Node answers 431 and closes the connection (HTTP/1.1 cannot read past it).
    // http.Server takes it as an option; Http2SecureServer reads the property.
    (server as { maxHeaderSize?: number }).maxHeaderSize = limits.maxHeaderListBytes;
    h1.maxRequestsPerSocket = 1000;
  };
  const h2c = (): http2.Http2Server => {
    const server = http2.createServer(h2Options);
    server.on('session', onSession);
    server.on('stream', onStream);
    return server;
  };
  let tlsServer: http2.Http2SecureServer | undefined;
  let front: net.Server;
  if (opts.mtls === 'none') {
    front = h2c();
  } else {
    const secure = http2.createSecureServer({
      ...h2Options,
      allowHTTP1: opts.onHttp1 !== undefined,
      key: opts.identity.keyPem,
      cert: opts.identity.certPem,
      ca: opts.identity.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: limits.handshakeTimeout,
    });
    secure.on('session', onSession);
    secure.on('stream', onStream);
    secure.on('tlsClientError', (err: NodeJS.ErrnoException) => log.debug('TLS handshake refused', { error: err.code ?? err.message }));
    secure.on('unknownProtocol', (socket) => socket.destroy());
    let plainHttp1: http.Server | undefined;
    if (opts.onHttp1 !== undefined) {
      // Node's HTTP/2 compatibility layer would also turn every HTTP/2 stream into a
      // 'request': it installs itself when a 'request' listener is added. Only HTTP/1.1
      // requests are wanted there (HTTP/2 streams go to 'stream', without that layer's cost).
      secure.removeAllListeners('newListener');
      secure.on('request', onRequest);
      harden(secure);
      if (opts.mtls === 'permissive') {
        plainHttp1 = http.createServer({ maxHeaderSize: limits.maxHeaderListBytes, connectionsCheckingInterval: HTTP1_CHECK_INTERVAL_MS }, onRequest);
        harden(plainHttp1);
      }
    }
    tlsServer = secure;
    if (opts.mtls === 'strict') front = secure;
    else {
      const plain = h2c();
      front = net.createServer((socket) => sniff(socket, limits.handshakeTimeout, secure, plain, plainHttp1));
    }
  }
  front.maxConnections = limits.maxConnections;

  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(opts.listen.port, opts.listen.host, () => {
      front.off('error', reject);
      resolve();
    });
  });
  front.on('error', (err) => log.error('inbound listener error', { error: String(err) }));

  return {
    address: front.address() as AddressInfo,
    setIdentity(identity: WorkloadIdentity): void {
      tlsServer?.setSecureContext({ key: identity.keyPem, cert: identity.certPem, ca: identity.caPem, minVersion: 'TLSv1.2' });
    },
    async close(drainMs: number): Promise<void> {
      closing = true;
      const stopped = new Promise<void>((resolve) => front.close(() => resolve()));
      for (const s of sessions) connections.get(s)?.watch.drain() ?? s.close();
      for (const [socket, active] of http1Active) if (active === 0) socket.destroySoon();
      const waits = [...sessions].map((s) => new Promise<void>((r) => s.once('close', () => r())));
      for (const socket of http1Active.keys()) waits.push(new Promise<void>((r) => socket.once('close', () => r())));
      const drained = Promise.all(waits);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), drainMs)));
      if (await Promise.race([drained.then(() => false), timedOut])) {
        log.warn('drain timeout: closing remaining connections', { connections: sessions.size });
        for (const s of sessions) s.destroy();
        for (const socket of http1Active.keys()) socket.destroy();
      }
      clearTimeout(timer);
      await stopped;
      guard.stop();
    },
  };
}

// TLS records start with 0x16 (handshake); the HTTP/2 connection preface with "PRI "; when
// plaintext HTTP/1.1 is served, anything else goes there, otherwise to h2c (which refuses it).
function sniff(socket: net.Socket, timeoutMs: number, tls: net.Server, h2c: net.Server, http1: net.Server | undefined): void {
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.once('data', (chunk: Buffer) => {
    socket.pause();
    socket.setTimeout(0);
    socket.unshift(chunk);
    const target = chunk[0] === 0x16 ? tls : http1 === undefined || chunk.toString('latin1', 0, 4) === 'PRI ' ? h2c : http1;
    target.emit('connection', socket);
    // The HTTP/1.1 server reads the socket through its own parser and leaves it paused: the
    // chunk put back above only flows once it is resumed.
    if (target === http1) socket.resume();
  });
}

function ignoreStreamError(): void {
  // Stream errors (resets, aborted writes) are handled by 'close' in the forwarder.
}
