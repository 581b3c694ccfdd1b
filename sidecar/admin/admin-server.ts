// Admin listener (control path): /healthz (process alive), /readyz (listeners up,
// certificates and a policy snapshot loaded, not draining), /metrics (Prometheus text),
// /config (effective config, secrets redacted) and /policies (version, sources, last error).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../config/schema.js';

export interface AdminState {
  /** Reasons the sidecar is not ready; empty when it is. */
  notReadyReasons(): readonly string[];
  /** JSON-serializable views, computed on request (a primary asks a worker: cli/workers.ts). */
  config(): unknown;
  policies(): unknown;
  /** `/policies?rules=1`: every rule of the current snapshot. */
  policyRules?(): unknown;
  /** Prometheus text for /metrics (format 0.0.4). */
  metrics?(): Promise<string>;
  /** More JSON views by path (the primary's /workers). */
  readonly views?: Readonly<Record<string, () => unknown>>;
}

export interface AdminServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function startAdminServer(listen: HostPort, state: AdminState): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const [path, query = ''] = (req.url ?? '/').split('?', 2);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return send(res, 200, 'ok\n');
      case '/readyz': {
        const reasons = state.notReadyReasons();
        return reasons.length === 0 ? send(res, 200, 'ready\n') : send(res, 503, `not ready: ${reasons.join(', ')}\n`);
      }
      case '/config':
        return sendJson(res, state.config());
      case '/policies':
        return sendJson(res, new URLSearchParams(query).get('rules') === '1' && state.policyRules !== undefined ? state.policyRules() : state.policies());
      case '/metrics':
        if (state.metrics === undefined) return send(res, 404, 'not found\n');
        state.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
            res.end(text);
          },
          (err: unknown) => send(res, 500, `metrics failed: ${String(err)}\n`),
        );
        return;
      default: {
        const views = state.views;
        const view = path !== undefined && views !== undefined && Object.hasOwn(views, path) ? views[path] : undefined;
        return view === undefined ? send(res, 404, 'not found\n') : sendJson(res, view());
      }
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

/** `value` may be a promise (a view the primary asks a worker for). */
function sendJson(res: http.ServerResponse, value: unknown): void {
  Promise.resolve(value).then(
    (v) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(v, null, 2) + '\n');
    },
    (err: unknown) => send(res, 500, `failed: ${String(err)}\n`),
  );
}
