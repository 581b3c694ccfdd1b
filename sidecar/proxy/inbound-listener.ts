// The inbound listener (data path, connection level): TLS 1.2+ with HTTP/2, mutual TLS
// against the trust bundle, hardening limits, and — in permissive mode — plaintext h2c
// on the same port, told apart by the first byte. The peer identity is computed once per
// connection; streams are handed to `onStream` with it.

import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HostPort } from '../config/schema.js';
import { log } from '../core/log.js';
import { PLAINTEXT_PEER, peerIdentityFromSocket, type PeerIdentity } from '../identity/peer-identity.js';
import type { WorkloadIdentity } from '../identity/workload-identity.js';

export interface InboundLimits {
  readonly maxConnections: number;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListBytes: number;
  readonly maxHeaderPairs: number;
  readonly handshakeTimeout: number;
  readonly idleTimeout: number;
  readonly maxResetsPerConnection: number;
}

export interface InboundOptions {
  readonly listen: HostPort;
  readonly mtls: 'strict' | 'permissive';
  readonly trustDomain: string;
  readonly identity: WorkloadIdentity;
  readonly limits: InboundLimits;
  readonly onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[], peer: PeerIdentity) => void;
}

export interface InboundListener {
  readonly address: AddressInfo;
  /** Stops accepting, sends GOAWAY, waits for in-flight streams up to `drainMs`, then cuts. */
  close(drainMs: number): Promise<void>;
}

const RESET_WINDOW_MS = 10_000;
const peers = new WeakMap<Http2Session, PeerIdentity>();

export async function startInboundListener(opts: InboundOptions): Promise<InboundListener> {
  const { limits } = opts;
  const sessions = new Set<Http2Session>();
  const h2Options: http2.ServerOptions = {
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderListBytes,
      enablePush: false,
      initialWindowSize: 1 << 20,
    },
    maxHeaderListPairs: limits.maxHeaderPairs,
    maxSessionMemory: 32,
    unknownProtocolTimeout: limits.handshakeTimeout,
  };

  const tlsServer = http2.createSecureServer({
    ...h2Options,
    key: opts.identity.keyPem,
    cert: opts.identity.certPem,
    ca: opts.identity.caPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    handshakeTimeout: limits.handshakeTimeout,
  });
  const onSession = (session: Http2Session): void => {
    const socket = session.socket as TLSSocket;
    const peer = socket.encrypted === true ? peerIdentityFromSocket(socket, opts.trustDomain) : PLAINTEXT_PEER;
    if (socket.encrypted === true && !peer.authenticated) log.warn('peer certificate rejected', { reason: peer.error });
    peers.set(session, peer);
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', (err: NodeJS.ErrnoException) => log.debug('inbound session error', { error: err.code ?? err.message }));
    session.setTimeout(limits.idleTimeout, () => session.close());
    guardResets(session, limits.maxResetsPerConnection);
  };
  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void => {
    stream.on('error', ignoreStreamError);
    opts.onStream(stream, headers, rawHeaders, peers.get(stream.session!) ?? PLAINTEXT_PEER);
  };
  tlsServer.on('session', onSession);
  tlsServer.on('stream', onStream);
  tlsServer.on('tlsClientError', (err: NodeJS.ErrnoException) => log.debug('TLS handshake refused', { error: err.code ?? err.message }));
  tlsServer.on('unknownProtocol', (socket) => socket.destroy());

  let front: net.Server = tlsServer;
  if (opts.mtls === 'permissive') {
    const h2cServer = http2.createServer(h2Options);
    h2cServer.on('session', onSession);
    h2cServer.on('stream', onStream);
    front = net.createServer((socket) => sniff(socket, limits.handshakeTimeout, tlsServer, h2cServer));
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
    async close(drainMs: number): Promise<void> {
      const stopped = new Promise<void>((resolve) => front.close(() => resolve()));
      for (const s of sessions) s.close();
      const drained = Promise.all([...sessions].map((s) => new Promise<void>((r) => s.once('close', () => r()))));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), drainMs)));
      if (await Promise.race([drained.then(() => false), timedOut])) {
        log.warn('drain timeout: closing remaining connections', { connections: sessions.size });
        for (const s of sessions) s.destroy();
      }
      clearTimeout(timer);
      await stopped;
    },
  };
}

// TLS records start with 0x16 (handshake); anything else is treated as h2c prior knowledge.
function sniff(socket: net.Socket, timeoutMs: number, tls: net.Server, h2c: net.Server): void {
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.once('data', (chunk: Buffer) => {
    socket.pause();
    socket.setTimeout(0);
    socket.unshift(chunk);
    (chunk[0] === 0x16 ? tls : h2c).emit('connection', socket);
  });
}

// Rapid-reset defence (CVE-2023-44487): a connection whose client resets too many
// streams in a short window is told to go away.
function guardResets(session: Http2Session, max: number): void {
  let windowStart = 0;
  let count = 0;
  session.on('stream', (stream: ServerHttp2Stream) => {
    stream.once('aborted', () => {
      const now = performance.now();
      if (now - windowStart > RESET_WINDOW_MS) {
        windowStart = now;
        count = 0;
      }
      if (++count > max && !session.closed) {
        log.warn('too many stream resets: closing connection', { resets: count });
        session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        session.destroy();
      }
    });
  });
}

function ignoreStreamError(): void {
  // Stream errors (resets, aborted writes) are handled by 'close' in the forwarder.
}
