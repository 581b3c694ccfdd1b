// Admin listener (control path): serves the routes of admin-routes.ts (health, metrics, JSON
// views, /tap, the dashboard). On loopback it is plain HTTP. On any other address (DESIGN §12)
// it also speaks TLS on the same port, told apart by the first byte: /healthz and /readyz
// answer anyone (the kubelet's probes keep working, with or without TLS); every other path
// needs a client certificate whose SPIFFE ID is in `admin.allow`.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HostPort, SidecarConfig } from '../config/schema.js';
import { log } from '../core/log.js';
import { PLAINTEXT_PEER, peerIdentityFromSocket, type PeerIdentity } from '../identity/peer-identity.js';
import type { WorkloadIdentity } from '../identity/workload-identity.js';
import type { PrincipalPattern } from '../policy/patterns.js';
import { checkAdminAccess, isLoopbackHost, parseAdminAllow } from './admin-access.js';
import { adminRoutes } from './admin-routes.js';
import type { AdminState } from './admin-state.js';
import { sendText } from './http-replies.js';

export type { AdminState, TapSource } from './admin-state.js';

export interface AdminServer {
  readonly address: AddressInfo;
  /** Whether paths other than the probes need mTLS (the listener is not on loopback). */
  readonly mtlsRequired: boolean;
  /** New TLS handshakes use this certificate and trust bundle (rotation). */
  setIdentity(identity: WorkloadIdentity): void;
  close(): Promise<void>;
}

/** What the listener needs when it is not on loopback. */
export interface AdminTls {
  readonly identity: WorkloadIdentity;
  readonly trustDomain: string;
  /** `admin.allow`: who may use the endpoints other than the probes. */
  readonly allow: readonly PrincipalPattern[];
}

/**
 * The TLS side of the admin listener from the config, or undefined on loopback (plain HTTP).
 * Warns when nobody is allowed: only the probes are served then.
 */
export function adminTlsFor(config: Pick<SidecarConfig, 'admin' | 'identity'>, identity: WorkloadIdentity): AdminTls | undefined {
  if (isLoopbackHost(config.admin.listen.host)) return undefined;
  if (config.admin.allow.length === 0) {
    log.warn('admin.listen is not loopback and admin.allow is empty: only /healthz and /readyz are served', { listen: config.admin.listen.host });
  }
  return { identity, trustDomain: config.identity.trustDomain, allow: parseAdminAllow(config.admin.allow) };
}

const MAX_CONNECTIONS = 256;
const TIMEOUT_MS = 10_000;

export async function startAdminServer(listen: HostPort, state: AdminState, tls?: AdminTls): Promise<AdminServer> {
  const routes = adminRoutes(state);
  const mtlsRequired = !isLoopbackHost(listen.host);
  if (mtlsRequired && tls === undefined) throw new Error(`admin.listen ${listen.host} is not loopback: the admin listener needs the workload identity for mTLS`);
  const peers = new WeakMap<object, PeerIdentity>();
  const peerOf = (req: IncomingMessage): PeerIdentity => {
    const socket = req.socket as TLSSocket;
    if (socket.encrypted !== true || tls === undefined) return PLAINTEXT_PEER;
    let peer = peers.get(socket);
    if (peer === undefined) {
      peer = peerIdentityFromSocket(socket, tls.trustDomain);
      peers.set(socket, peer);
    }
    return peer;
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin');
    } catch {
      return sendText(res, 400, 'bad request\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    const route = routes.get(url.pathname);
    if (route === undefined) return sendText(res, 404, 'not found\n');
    if (mtlsRequired && route.open !== true) {
      const denial = checkAdminAccess(peerOf(req), tls!.allow);
      if (denial !== undefined) return sendText(res, denial.status, denial.message);
    }
    try {
      route.handle(req, res, url);
    } catch (err) {
      log.error('admin endpoint failed', { path: url.pathname, error: String(err) });
      sendText(res, 500, 'internal error\n');
    }
  };

  const harden = (server: http.Server): http.Server => {
    server.headersTimeout = TIMEOUT_MS;
    server.requestTimeout = TIMEOUT_MS;
    server.on('clientError', (_err, socket) => socket.destroy());
    return server;
  };
  const plain = harden(http.createServer(onRequest));
  let secure: https.Server | undefined;
  let front: net.Server = plain;
  const sniffing = new Set<net.Socket>();
  if (mtlsRequired && tls !== undefined) {
    secure = harden(
      https.createServer(
        {
          key: tls.identity.keyPem,
          cert: tls.identity.certPem,
          ca: tls.identity.caPem,
          // Asked for, checked per request: the probes are served without one.
          requestCert: true,
          rejectUnauthorized: false,
          minVersion: 'TLSv1.2',
          handshakeTimeout: TIMEOUT_MS,
        },
        onRequest,
      ),
    ) as https.Server;
    secure.on('tlsClientError', (err: NodeJS.ErrnoException) => log.debug('admin TLS handshake refused', { error: err.code ?? err.message }));
    const https1 = secure;
    front = net.createServer((socket) => sniff(socket, sniffing, https1, plain));
  }
  front.maxConnections = MAX_CONNECTIONS;

  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(listen.port, listen.host, () => {
      front.off('error', reject);
      resolve();
    });
  });
  front.on('error', (err) => log.error('admin listener error', { error: String(err) }));

  return {
    address: front.address() as AddressInfo,
    mtlsRequired,
    setIdentity(identity) {
      secure?.setSecureContext({ key: identity.keyPem, cert: identity.certPem, ca: identity.caPem, minVersion: 'TLSv1.2' });
    },
    close: () =>
      new Promise<void>((resolve) => {
        front.close(() => resolve());
        for (const s of sniffing) s.destroy();
        plain.closeAllConnections();
        secure?.closeAllConnections();
      }),
  };
}

// A TLS record starts with 0x16 (handshake); anything else is plaintext HTTP/1.1.
function sniff(socket: net.Socket, pending: Set<net.Socket>, tls: net.Server, plain: net.Server): void {
  pending.add(socket);
  socket.setTimeout(TIMEOUT_MS, () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.once('close', () => pending.delete(socket));
  socket.once('data', (chunk: Buffer) => {
    pending.delete(socket);
    socket.pause();
    socket.setTimeout(0);
    socket.unshift(chunk);
    const target = chunk[0] === 0x16 ? tls : plain;
    target.emit('connection', socket);
    // The HTTP server reads through its own parser and leaves the socket paused.
    if (target === plain) socket.resume();
  });
}
