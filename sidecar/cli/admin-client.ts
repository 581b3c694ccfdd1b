// What `meshward tap` and `meshward top` share (CLI, control path): the --admin URL and its
// TLS options, and a reader of the admin listener's Server-Sent Events (GET /tap).
// An admin listener off loopback needs mTLS (DESIGN §12): --cert/--key are this client's
// SVID, --ca the trust bundle; the server's SPIFFE ID is checked with --server-id.

import { readFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { uriSansOf } from '../identity/peer-identity.js';

export const ADMIN_OPTIONS = {
  admin: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  'server-id': { type: 'string' },
} as const;

export const ADMIN_USAGE = `  --admin URL        the sidecar's admin listener, e.g. http://127.0.0.1:7000
                     (https://POD-IP:7000 when it is not on loopback: mTLS)
  --cert FILE --key FILE   client certificate and key (a SPIFFE SVID in admin.allow)
  --ca FILE          trust bundle that signed the sidecar's certificate
  --server-id ID     the sidecar's SPIFFE ID, checked when --ca is given`;

export class CliUsageError extends Error {}

export interface AdminTarget {
  readonly url: URL;
  readonly tls: https.RequestOptions | undefined;
}

export function adminTarget(values: { admin?: string; cert?: string; key?: string; ca?: string; 'server-id'?: string }): AdminTarget {
  if (values.admin === undefined) throw new CliUsageError('--admin URL is required');
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(values.admin) ? values.admin : `http://${values.admin}`);
  } catch {
    throw new CliUsageError(`--admin: not a URL: ${values.admin}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliUsageError(`--admin: expected http:// or https://, got ${url.protocol}`);
  if ((values.cert === undefined) !== (values.key === undefined)) throw new CliUsageError('--cert and --key go together');
  const tlsGiven = values.cert !== undefined || values.ca !== undefined || values['server-id'] !== undefined;
  if (url.protocol === 'http:') {
    if (tlsGiven) throw new CliUsageError('--cert, --key, --ca and --server-id need an https:// --admin URL');
    return { url, tls: undefined };
  }
  const read = (flag: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new CliUsageError(`${flag} ${file}: ${(err as Error).message}`);
    }
  };
  const serverId = values['server-id'];
  const ca = read('--ca', values.ca);
  const tls: https.RequestOptions = { cert: read('--cert', values.cert), key: read('--key', values.key), ca };
  // A mesh certificate names a SPIFFE ID, not a host name: with the mesh's trust bundle, the
  // chain is verified by Node and the identity here (any, unless --server-id pins it).
  if (ca !== undefined) tls.checkServerIdentity = (_host: string, cert: PeerCertificate) => spiffeCheck(cert, serverId);
  return { url, tls };
}

function spiffeCheck(cert: PeerCertificate, serverId: string | undefined): Error | undefined {
  const uris = uriSansOf(cert.subjectaltname);
  if (uris.length !== 1 || !uris[0]!.startsWith('spiffe://')) return new Error('the admin listener did not present a SPIFFE certificate');
  if (serverId !== undefined && uris[0] !== serverId) return new Error(`the admin listener is ${uris[0]}, not ${serverId}`);
  return undefined;
}

function endpoint(target: AdminTarget, path: string, query: Record<string, string | undefined> = {}): URL {
  const url = new URL(path, target.url);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

function get(target: AdminTarget, url: URL, accept: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const opts = { method: 'GET', headers: { accept }, agent: false, ...(target.tls ?? {}) };
    const req = (url.protocol === 'https:' ? https : http).request(url, opts, resolve);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url.origin} within 10 s`)));
    req.once('error', reject);
    req.end();
  });
}

async function bodyOf(res: IncomingMessage): Promise<string> {
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk as string;
  return text;
}

/** Why an admin request failed, for people: the status and the listener's own words. */
export class AdminHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SseHandlers {
  /** `event` is the SSE event name (`message` for plain data). */
  onEvent(event: string, data: string): void;
}

/**
 * Follows an SSE endpoint until the stream ends (resolves) or fails (rejects). `stop` ends it
 * from this side. Not a general EventSource: no reconnection (the tap has no replay anyway).
 */
export async function followEvents(
  target: AdminTarget,
  path: string,
  query: Record<string, string | undefined>,
  handlers: SseHandlers,
): Promise<{ stop: () => void; ended: Promise<void> }> {
  const url = endpoint(target, path, query);
  const res = await get(target, url, 'text/event-stream');
  if (res.statusCode !== 200) {
    const text = (await bodyOf(res)).trim();
    throw new AdminHttpError(res.statusCode ?? 0, `${url.pathname}: HTTP ${res.statusCode}${text === '' ? '' : `: ${text}`}`);
  }
  res.socket.setTimeout(0);
  const parser = new SseParser(handlers);
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => parser.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    res.once('end', () => resolve());
    res.once('close', () => resolve());
    res.once('error', reject);
  });
  return { stop: () => res.destroy(), ended };
}

/** The text/event-stream format (WHATWG HTML §9.2.6), fields `event` and `data`. */
export class SseParser {
  #pending = '';
  #event = '';
  #data: string[] = [];

  constructor(private readonly handlers: SseHandlers) {}

  push(chunk: string): void {
    this.#pending += chunk;
    let start = 0;
    for (;;) {
      const nl = this.#pending.indexOf('\n', start);
      if (nl === -1) break;
      let line = this.#pending.slice(start, nl);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      start = nl + 1;
      this.#line(line);
    }
    this.#pending = this.#pending.slice(start);
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0) this.handlers.onEvent(this.#event === '' ? 'message' : this.#event, this.#data.join('\n'));
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
  }
}

/** GET a JSON admin view. */
export async function getAdminJson(target: AdminTarget, path: string): Promise<unknown> {
  const url = endpoint(target, path);
  const res = await get(target, url, 'application/json');
  const text = await bodyOf(res);
  if (res.statusCode !== 200) throw new AdminHttpError(res.statusCode ?? 0, `${url.pathname}: HTTP ${res.statusCode}: ${text.trim()}`);
  return JSON.parse(text) as unknown;
}

/** Colour only for people: a TTY, and NO_COLOR unset (https://no-color.org). */
export function useColour(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && (process.env.NO_COLOR ?? '') === '';
}

export const ansi = {
  red: (s: string) => `\x1b[31m${s}\x1b[0m`,
  green: (s: string) => `\x1b[32m${s}\x1b[0m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[0m`,
  magenta: (s: string) => `\x1b[35m${s}\x1b[0m`,
  dim: (s: string) => `\x1b[2m${s}\x1b[0m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[0m`,
};
