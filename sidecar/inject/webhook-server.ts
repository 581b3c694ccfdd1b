// The injector's HTTPS server: POST /inject (AdmissionReview v1, see admission.ts),
// GET /healthz and /readyz. Bounded: body size, request time, connections; nothing a
// client sends can throw out of a handler. The certificate files are re-read on an
// interval, so a cert-manager renewal is served without a restart. CONTROL path.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import { log } from '../core/log.js';
import { reviewAdmission } from './admission.js';
import type { InjectorConfig } from './injector-config.js';

export const INJECT_PATH = '/inject';

export interface WebhookServer {
  readonly address: AddressInfo;
  /** Re-reads the certificate files now; true if a new certificate is served. */
  reloadTls(): boolean;
  /** Stops accepting, lets requests in flight finish (at most shutdown.drainTimeout), closes. */
  close(): Promise<void>;
}

interface TlsFiles {
  cert: string;
  key: string;
}

function readTls(config: InjectorConfig): TlsFiles {
  const files = { cert: readFileSync(config.tls.certFile, 'utf8'), key: readFileSync(config.tls.keyFile, 'utf8') };
  createSecureContext(files); // throws for a bad PEM or a key that does not match
  return files;
}

export async function startWebhookServer(config: InjectorConfig): Promise<WebhookServer> {
  let tlsFiles = readTls(config);
  let draining = false;
  const settings = { failurePolicy: config.failurePolicy, excludeNamespaces: config.excludeNamespaces, injection: config.injection };

  const server = https.createServer(
    {
      ...tlsFiles,
      minVersion: 'TLSv1.2',
      // How often requestTimeout and headersTimeout are enforced (Node's default is 30 s).
      connectionsCheckingInterval: Math.min(1_000, config.limits.requestTimeout),
    },
    (req, res) => {
      try {
        route(req, res);
      } catch (err) {
        log.error('injector request failed', { error: String((err as Error)?.stack ?? err) });
        send(res, 500, 'internal error\n');
      }
    },
  );
  server.requestTimeout = config.limits.requestTimeout;
  server.headersTimeout = Math.min(config.limits.requestTimeout, 10_000);
  server.keepAliveTimeout = 60_000;
  server.maxHeadersCount = 64;
  server.maxConnections = config.limits.maxConnections;
  server.setTimeout(120_000, (socket) => socket.destroy());
  server.on('tlsClientError', (err) => log.debug('injector TLS handshake failed', { error: err.message }));

  function route(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/readyz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
      if (path === '/readyz' && draining) return send(res, 503, 'not ready: draining\n');
      return send(res, 200, path === '/healthz' ? 'ok\n' : 'ready\n');
    }
    if (path !== INJECT_PATH) return send(res, 404, 'not found\n');
    if (req.method !== 'POST') return send(res, 405, 'method not allowed\n');
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return send(res, 415, 'expected content-type application/json\n');
    readBody(req, res, config.limits.maxBodyBytes, (body) => admit(body, res));
  }

  function admit(body: Buffer, res: ServerResponse): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return send(res, 400, 'expected a JSON AdmissionReview\n');
    }
    const outcome = reviewAdmission(parsed, settings);
    if (outcome.httpStatus === 400) {
      log.warn('injector refused a request that is not an AdmissionReview', { reason: outcome.message });
      return send(res, 400, `${outcome.message}\n`);
    }
    log.info('admission', { ...outcome.request, result: outcome.result, detail: outcome.detail });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(outcome.review));
  }

  const reloadTls = (): boolean => {
    let next: TlsFiles;
    try {
      next = readTls(config);
    } catch (err) {
      log.warn('webhook certificate reload failed; keeping the current one', { error: (err as Error).message });
      return false;
    }
    if (next.cert === tlsFiles.cert && next.key === tlsFiles.key) return false;
    server.setSecureContext({ ...next, minVersion: 'TLSv1.2' });
    tlsFiles = next;
    log.info('webhook certificate reloaded', { certFile: config.tls.certFile });
    return true;
  };
  const reloadTimer = setInterval(reloadTls, config.tls.reloadInterval);
  reloadTimer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error('injector server error', { error: err.message }));

  return {
    address: server.address() as AddressInfo,
    reloadTls,
    close: () =>
      new Promise<void>((resolve) => {
        draining = true;
        clearInterval(reloadTimer);
        const force = setTimeout(() => server.closeAllConnections(), config.shutdown.drainTimeout);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** Collects at most `max` bytes; larger bodies get 413 and the connection is closed. */
function readBody(req: IncomingMessage, res: ServerResponse, max: number, done: (body: Buffer) => void): void {
  const tooLarge = (): void => {
    res.once('finish', () => req.destroy());
    send(res, 413, `request body larger than ${max} bytes\n`, { connection: 'close' });
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  req.on('data', (chunk: Buffer) => {
    if (finished) return;
    size += chunk.length;
    if (size > max) {
      finished = true;
      tooLarge();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (finished) return;
    finished = true;
    try {
      done(Buffer.concat(chunks));
    } catch (err) {
      log.error('injector request failed', { error: String((err as Error)?.stack ?? err) });
      send(res, 500, 'internal error\n');
    }
  });
  req.on('error', () => {
    finished = true;
  });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}
