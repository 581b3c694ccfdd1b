// Admin listener (control path): /healthz (process alive) and /readyz (listeners up,
// certificates loaded, not draining). Metrics, /config and /policies join later.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../config/schema.js';

export interface Readiness {
  /** Reasons the sidecar is not ready; empty when it is. */
  notReadyReasons(): readonly string[];
}

export interface AdminServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function startAdminServer(listen: HostPort, readiness: Readiness): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return send(res, 200, 'ok\n');
      case '/readyz': {
        const reasons = readiness.notReadyReasons();
        return reasons.length === 0 ? send(res, 200, 'ready\n') : send(res, 503, `not ready: ${reasons.join(', ')}\n`);
      }
      default:
        return send(res, 404, 'not found\n');
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}
