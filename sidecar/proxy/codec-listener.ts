// The listeners on meshward's own HTTP/2 codec (data path, connection level). Inbound: TLS
// 1.2+ with mutual TLS against the trust bundle, ALPN `h2` to the codec and `http/1.1` to
// node:http (GraphQL clients), and — in permissive mode — plaintext on the same port, told
// apart by the first bytes (TLS record, HTTP/2 preface, or HTTP/1.1). Outbound (`mtls:
// none`): plaintext h2c only, on loopback, for the local app. The peer identity is computed
// once per connection; each request stream goes to `onStream` with it.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { HostPort } from '../core/host-port.js';
import { log } from '../core/log.js';
import { H2Connection, sweepPeriod } from '../h2/connection.js';
import { DEFAULT_FLOOD_LIMITS } from '../h2/flood-guard.js';
import type { RequestHead } from '../h2/header-rules.js';
import { h2Options, type H2Options } from '../h2/options.js';
import type { H2Stream } from '../h2/stream.js';
import { PLAINTEXT_PEER, peerIdentityFromSocket, type PeerIdentity } from '../identity/peer-identity.js';
import type { WorkloadIdentity } from '../identity/workload-identity.js';

export interface ListenerLimits {
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

/** A new request stream (its handler must be set before returning), and the peer of its connection. */
export type CodecStreamHandler = (stream: H2Stream, headers: string[], head: RequestHead, endStream: boolean, peer: PeerIdentity) => void;

export type Http1Handler = (req: IncomingMessage, res: ServerResponse, peer: PeerIdentity) => void;

export interface ListenerOptions {
  readonly listen: HostPort;
  /** `none`: plaintext h2c only (the outbound listener on loopback); `identity` is then unused. */
  readonly mtls: 'strict' | 'permissive' | 'none';
  readonly trustDomain: string;
  readonly identity: WorkloadIdentity;
  readonly limits: ListenerLimits;
  readonly onStream: CodecStreamHandler;
  /** HTTP/1.1 requests (GraphQL clients, DESIGN §1); without it the listener speaks HTTP/2 only. */
  readonly onHttp1?: Http1Handler;
}

export interface Listener {
  readonly address: AddressInfo;
  /** New handshakes use this certificate, key and trust bundle; open connections keep theirs. */
  setIdentity(identity: WorkloadIdentity): void;
  /** Stops accepting, sends GOAWAY, waits for in-flight streams up to `drainMs`, then cuts. */
  close(drainMs: number): Promise<void>;
}

/** HTTP/1.1 timeouts are checked this often (Node's default, 30 s, would stretch them). */
const HTTP1_CHECK_INTERVAL_MS = 1_000;

/**
 * The codec's settings for a listener's `limits` (sidecar config) — built once. The stream
 * limit is announced as it is enforced: a stream over it is refused alone (REFUSED_STREAM),
 * the others go on (RFC 9113 §5.1.2); up to `maxConcurrentStreams` such refusals per 10 s are
 * not counted as resets (a client that opened them before it saw our SETTINGS).
 */
export function listenerH2Options(limits: ListenerLimits): H2Options {
  return h2Options({
    maxConcurrentStreams: limits.maxConcurrentStreams,
    maxHeaderListSize: limits.maxHeaderListBytes,
    // Up to twice the limit a request still reaches the chain, which answers it (431 / 8).
    refusedHeaderListSize: limits.maxHeaderListBytes * 2,
    maxHeaderFields: limits.maxHeaderPairs,
    handshakeTimeoutMs: limits.handshakeTimeout,
    firstRequestTimeoutMs: limits.firstRequestTimeout,
    requestHeadersTimeoutMs: limits.requestHeadersTimeout,
    idleTimeoutMs: limits.idleTimeout,
    floods: { ...DEFAULT_FLOOD_LIMITS, resetsPer10s: limits.maxResetsPerConnection, freeRefusalsPer10s: limits.maxConcurrentStreams },
    externalSweep: true,
  });
}

export async function startCodecListener(opts: ListenerOptions): Promise<Listener> {
  const { limits } = opts;
  const h2 = listenerH2Options(limits);
  const connections = new Set<H2Connection>();
  let closing = false;
  // One timer checks every connection's timeouts (connection.ts `sweep`).
  const sweeper = setInterval(
    () => {
      const now = performance.now();
      for (const c of connections) c.sweep(now);
    },
    sweepPeriod(Math.min(limits.handshakeTimeout, limits.firstRequestTimeout, limits.requestHeadersTimeout, limits.idleTimeout)),
  );
  sweeper.unref();

  /** An HTTP/2 connection on a socket (TLS after its handshake, or plaintext). */
  const serveH2 = (socket: net.Socket, peer: PeerIdentity): void => {
    if (closing) return void socket.destroy();
    const conn = new H2Connection(socket, 'server', h2, {
      onStream: (_c, stream, headers, head, endStream) => opts.onStream(stream, headers, head, endStream, peer),
      onClose: (c, error) => {
        connections.delete(c);
        if (error !== undefined && !error.byPeer) log.debug('inbound connection error', { code: error.code, detail: error.detail });
      },
    });
    connections.add(conn);
  };

  // HTTP/1.1: the peer identity is computed once per connection, like HTTP/2's. In-flight
  // requests per connection, so a drain can close idle connections at once and busy ones
  // when their response is done.
  const http1Peers = new WeakMap<object, PeerIdentity>();
  const http1Active = new Map<net.Socket, number>();
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
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
  let http1: http.Server | undefined;
  if (opts.onHttp1 !== undefined) {
    // HTTP/1.1 hardening, the counterpart of the codec's limits.
    // Over maxHeaderSize Node answers 431 and closes the connection (HTTP/1.1 cannot read past it).
    http1 = http.createServer({ maxHeaderSize: limits.maxHeaderListBytes, connectionsCheckingInterval: HTTP1_CHECK_INTERVAL_MS }, onRequest);
    // headersTimeout also bounds a new connection that sends nothing (Node starts it at accept).
    http1.headersTimeout = Math.min(limits.firstRequestTimeout, limits.requestHeadersTimeout);
    http1.requestTimeout = 60_000;
    http1.keepAliveTimeout = 5_000;
    http1.maxHeadersCount = limits.maxHeaderPairs;
    http1.maxRequestsPerSocket = 1000;
    // This server never listens (connections are handed to it), but its header and request
    // timeouts are enforced by a check that starts on 'listening': start it.
    http1.emit('listening');
  }

  let secure: tls.Server | undefined;
  if (opts.mtls !== 'none') {
    secure = tls.createServer({
      key: opts.identity.keyPem,
      cert: opts.identity.certPem,
      ca: opts.identity.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: limits.handshakeTimeout,
      ALPNProtocols: opts.onHttp1 === undefined ? ['h2'] : ['h2', 'http/1.1'],
    });
    secure.on('secureConnection', (socket: TLSSocket) => {
      const alpn = socket.alpnProtocol;
      if (alpn === 'h2') {
        const peer = peerIdentityFromSocket(socket, opts.trustDomain);
        if (!peer.authenticated) log.warn('peer certificate rejected', { reason: peer.error });
        return serveH2(socket, peer);
      }
      // No ALPN or http/1.1: HTTP/1.1 when served, else the connection is refused.
      if (http1 !== undefined && !closing) http1.emit('connection', socket);
      else socket.destroy();
    });
    secure.on('tlsClientError', (err: NodeJS.ErrnoException) => log.debug('TLS handshake refused', { error: err.code ?? err.message }));
  }

  let front: net.Server;
  if (opts.mtls === 'none') front = net.createServer({ noDelay: true }, (socket) => serveH2(socket, PLAINTEXT_PEER));
  else if (opts.mtls === 'strict') front = secure!;
  else {
    front = net.createServer({ noDelay: true }, (socket) =>
      sniff(socket, limits.handshakeTimeout, (kind) => {
        if (kind === 'tls') secure!.emit('connection', socket);
        else if (kind === 'h2c' || http1 === undefined) serveH2(socket, PLAINTEXT_PEER);
        else http1.emit('connection', socket);
      }),
    );
  }
  front.maxConnections = limits.maxConnections;

  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(opts.listen.port, opts.listen.host, () => {
      front.off('error', reject);
      resolve();
    });
  });
  front.on('error', (err) => log.error('listener error', { error: String(err) }));

  return {
    address: front.address() as AddressInfo,
    setIdentity(identity: WorkloadIdentity): void {
      secure?.setSecureContext({ key: identity.keyPem, cert: identity.certPem, ca: identity.caPem, minVersion: 'TLSv1.2' });
    },
    async close(drainMs: number): Promise<void> {
      closing = true;
      const stopped = new Promise<void>((resolve) => front.close(() => resolve()));
      const waits: Promise<void>[] = [];
      for (const c of connections) {
        waits.push(new Promise<void>((r) => (c.socket.destroyed ? r() : c.socket.once('close', () => r()))));
        c.close();
      }
      for (const [socket, active] of http1Active) if (active === 0) socket.destroySoon();
      for (const socket of http1Active.keys()) waits.push(new Promise<void>((r) => socket.once('close', () => r())));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), drainMs)));
      if (await Promise.race([Promise.all(waits).then(() => false), timedOut])) {
        log.warn('drain timeout: closing remaining connections', { connections: connections.size });
        for (const c of connections) c.destroy();
        for (const socket of http1Active.keys()) socket.destroy();
      }
      clearTimeout(timer);
      clearInterval(sweeper);
      await stopped;
    },
  };
}

/**
 * Tells a plaintext port's protocols apart by the first bytes: a TLS record starts with 0x16
 * (handshake), the HTTP/2 connection preface with "PRI ", anything else is HTTP/1.1.
 */
function sniff(socket: net.Socket, timeoutMs: number, route: (kind: 'tls' | 'h2c' | 'http1') => void): void {
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.once('data', (chunk: Buffer) => {
    socket.pause();
    socket.setTimeout(0);
    socket.unshift(chunk);
    const kind = chunk[0] === 0x16 ? 'tls' : chunk.toString('latin1', 0, 4) === 'PRI ' ? 'h2c' : 'http1';
    route(kind);
    // The codec and the HTTP/1.1 parser read with 'data' listeners, which do not resume an
    // explicitly paused socket (TLS takes the socket over itself).
    if (kind !== 'tls') socket.resume();
  });
}
