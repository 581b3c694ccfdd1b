// A GraphQL-over-HTTP client for tests: HTTP/1.1 (https with a client certificate, or
// plaintext) and HTTP/2 over TLS, returning status, headers and the parsed JSON body.
// Test support, not part of the sidecar.

import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { spiffeServerCheck } from './grpc-clients.js';

export interface GqlTls {
  caPem: string;
  certPem?: string;
  keyPem?: string;
}

export interface GqlRequestOptions {
  /** Default POST. */
  method?: string;
  /** Query string for GET (without "?"). */
  query?: string;
  /** Raw body; an object is sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Plaintext (permissive mode) instead of TLS. */
  tls?: GqlTls;
  /** HTTP/2 instead of HTTP/1.1 (TLS only). */
  h2?: boolean;
  path?: string;
}

export interface GqlResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

const TIMEOUT_MS = 5000;

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One request to `address` ("host:port"). */
export function gql(address: string, opts: GqlRequestOptions = {}): Promise<GqlResponse> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const method = opts.method ?? 'POST';
  const path = (opts.path ?? '/graphql') + (opts.query === undefined ? '' : `?${opts.query}`);
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' || Buffer.isBuffer(opts.body) ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers };
  if (opts.h2) return h2Request(host, port, method, path, headers, body, opts.tls!);
  return new Promise((resolve, reject) => {
    const common = { host, port, method, path, headers, timeout: TIMEOUT_MS, agent: false as const };
    const req = opts.tls
      ? https.request({ ...common, ca: opts.tls.caPem, cert: opts.tls.certPem, key: opts.tls.keyPem, servername: 'orders', checkServerIdentity: spiffeServerCheck() })
      : http.request(common);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parse(text) });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function h2Request(host: string, port: number, method: string, path: string, headers: Record<string, string>, body: string | Buffer | undefined, tls: GqlTls): Promise<GqlResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://${host}:${port}`, { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, servername: 'orders', checkServerIdentity: spiffeServerCheck() });
    session.on('error', reject);
    const stream = session.request({ ':method': method, ':path': path, ...headers });
    const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), TIMEOUT_MS);
    let status = 0;
    let responseHeaders: Record<string, string | string[] | undefined> = {};
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h as Record<string, string | string[] | undefined>;
    });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('close', () => {
      clearTimeout(timer);
      session.close();
      const text = Buffer.concat(chunks).toString('utf8');
      if (status === 0) reject(new Error(`stream closed without a response (rst ${stream.rstCode})`));
      else resolve({ status, headers: responseHeaders, text, json: parse(text) });
    });
    stream.end(body);
  });
}
