// Raw HTTP/2 frames over TLS (or plaintext) for what no client library sends: connection
// errors, slow prefaces, streams over the concurrency limit, fuzzed frame sequences.
// Test support only; RFC 9113 §4.1 frame layout, §6 frame types.

import net from 'node:net';
import tls from 'node:tls';
import { splitHostPort } from './ports.js';
import { tlsConnectOptions, type H2Tls } from './raw-h2.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId >>> 0 & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK string literal (RFC 7541 §5.2), not Huffman-coded, any length. */
function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([hpackInt(bytes.length, 7, 0x00), bytes]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByteFlags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const out = [firstByteFlags | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A header block of literal fields without indexing, new names (RFC 7541 §6.2.2). */
export function headerBlock(fields: Array<[string, string]>): Buffer {
  return Buffer.concat(fields.flatMap(([n, v]) => [Buffer.from([0x00]), hpackString(n), hpackString(v)]));
}

/** The request header fields of a gRPC unary call on `path`. */
export function grpcRequestFields(authority: string, path: string): Array<[string, string]> {
  return [
    [':method', 'POST'],
    [':scheme', 'https'],
    [':path', path],
    [':authority', authority],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ];
}

export interface ServerFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** One raw connection: write bytes, read the server's frames, see whether and when it closed. */
export class RawConnection {
  readonly frames: ServerFrame[] = [];
  /** The peer ended its side (FIN) or the socket closed. */
  ended = false;
  closed = false;
  error: string | undefined;
  private buffered = Buffer.alloc(0);
  private waiters = new Set<() => void>();

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 9) {
        const len = this.buffered.readUIntBE(0, 3);
        if (this.buffered.length < 9 + len) break;
        this.frames.push({
          type: this.buffered[3]!,
          flags: this.buffered[4]!,
          streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
          payload: Buffer.from(this.buffered.subarray(9, 9 + len)),
        });
        this.buffered = this.buffered.subarray(9 + len);
      }
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (err) => {
      this.error ??= err.message;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.closed = true;
      this.wake();
    });
  }

  /** Connects (TLS with ALPN h2, or plaintext) and resolves once the handshake is done. */
  static open(authority: string, t: H2Tls, timeoutMs = 5_000): Promise<RawConnection> {
    const { host, port } = splitHostPort(authority);
    return new Promise((resolve, reject) => {
      const socket =
        t === 'plaintext'
          ? net.connect({ host, port })
          : tls.connect({ ...tlsConnectOptions(t), host, port, ALPNProtocols: ['h2'] });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`h2-frames: connect to ${authority} timed out`));
      }, timeoutMs);
      socket.once(t === 'plaintext' ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RawConnection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  write(...chunks: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(chunks));
  }

  /** Preface and an empty SETTINGS frame. */
  start(): void {
    this.write(PREFACE, frame(FrameType.SETTINGS, 0, 0));
  }

  goaway(): ServerFrame | undefined {
    return this.frames.find((f) => f.type === FrameType.GOAWAY);
  }

  /** GOAWAY error code, if the server sent one. */
  goawayCode(): number | undefined {
    const g = this.goaway();
    return g === undefined || g.payload.length < 8 ? undefined : g.payload.readUInt32BE(4);
  }

  rstCode(streamId: number): number | undefined {
    const r = this.frames.find((f) => f.type === FrameType.RST_STREAM && f.streamId === streamId);
    return r === undefined ? undefined : r.payload.readUInt32BE(0);
  }

  /** Resolves true once `cond` holds, false after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(cond());
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
