// A raw HTTP/2 peer for the codec's conformance tests (tests only): writes frames byte by
// byte as a test says, parses what comes back with its own small parser, and waits for a
// frame, a GOAWAY, an RST_STREAM or the socket's close with bounded timeouts.

import net from 'node:net';
import { ErrorCode, FrameType, PREFACE, errorName } from '../constants.js';
import { HpackDecoder } from '../hpack/decoder.js';
import { HpackEncoder } from '../hpack/encoder.js';

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer | number[] = Buffer.alloc(0)): Buffer {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([h, p]);
}

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

export function settingsPayload(values: [number, number][]): Buffer {
  const b = Buffer.alloc(values.length * 6);
  values.forEach(([id, v], i) => {
    b.writeUInt16BE(id, i * 6);
    b.writeUInt32BE(v >>> 0, i * 6 + 2);
  });
  return b;
}

/** A GET/POST request's fields as a flat list. */
export function requestFields(path = '/', method = 'POST', extra: string[] = []): string[] {
  return [':method', method, ':scheme', 'http', ':path', path, ':authority', 'localhost', ...extra];
}

const WAIT_MS = 3000;

export class RawPeer {
  readonly frames: Frame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  readonly encoder = new HpackEncoder(4096);
  readonly decoder = new HpackDecoder(4096, 1 << 20, 10_000);

  /** Server side: the client's connection preface, once it has arrived whole. */
  private prefaceLeft: number;

  private constructor(
    readonly socket: net.Socket,
    serverSide = false,
  ) {
    this.prefaceLeft = serverSide ? PREFACE.length : 0;
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      if (this.prefaceLeft > 0) {
        const n = Math.min(this.prefaceLeft, this.buf.length);
        this.buf = this.buf.subarray(n);
        this.prefaceLeft -= n;
      }
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        this.frames.push({ type: this.buf[3]!, flags: this.buf[4]!, streamId: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
        this.buf = this.buf.subarray(9 + len);
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  /** The server side of an accepted socket (a raw server for client-side tests). */
  static accept(socket: net.Socket): RawPeer {
    return new RawPeer(socket, true);
  }

  send(...bufs: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(bufs));
  }

  /** Preface, our SETTINGS, then waits for the server's SETTINGS and acknowledges them. */
  async handshake(settings: [number, number][] = []): Promise<void> {
    this.send(PREFACE, frame(FrameType.SETTINGS, 0, 0, settingsPayload(settings)));
    await this.waitFrame((f) => f.type === FrameType.SETTINGS && (f.flags & 1) === 0);
    this.send(frame(FrameType.SETTINGS, 1, 0));
  }

  /** HEADERS (END_HEADERS) for a request. */
  headers(streamId: number, fields: string[], endStream: boolean, flags = 0): Buffer {
    return frame(FrameType.HEADERS, 0x4 | (endStream ? 1 : 0) | flags, streamId, this.encoder.encode(fields, 0));
  }

  data(streamId: number, body: string | Buffer, endStream: boolean): Buffer {
    return frame(FrameType.DATA, endStream ? 1 : 0, streamId, Buffer.isBuffer(body) ? body : Buffer.from(body));
  }

  decode(f: Frame): string[] {
    const out: string[] = [];
    this.decoder.decode(f.payload, 0, f.payload.length, out);
    return out;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  private async until<T>(check: () => T | undefined, what: string, ms = WAIT_MS): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.describe()}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The first frame (from `from`) matching; throws when the socket closes first. */
  waitFrame(match: (f: Frame) => boolean, from = 0): Promise<Frame> {
    return this.until(() => {
      const f = this.frames.slice(from).find(match);
      if (f !== undefined) return f;
      if (this.closed) throw new Error(`connection closed; got ${this.describe()}`);
      return undefined;
    }, 'a frame');
  }

  waitClosed(ms = WAIT_MS): Promise<true> {
    return this.until(() => (this.closed ? true : undefined), 'the socket to close', ms);
  }

  /** A connection error: GOAWAY with `code`, and then the socket closes (§5.4.1). */
  async expectGoaway(...codes: number[]): Promise<Frame> {
    const g = await this.until(() => this.frames.find((f) => f.type === FrameType.GOAWAY && f.payload.readUInt32BE(4) !== ErrorCode.NO_ERROR) ?? (this.closed ? null : undefined), 'GOAWAY');
    if (g === null) throw new Error(`closed without GOAWAY; got ${this.describe()}`);
    const code = g.payload.readUInt32BE(4);
    if (!codes.includes(code)) throw new Error(`GOAWAY ${errorName(code)}, expected ${codes.map(errorName).join(' or ')}`);
    await this.waitClosed();
    return g;
  }

  /** A stream error: RST_STREAM on `streamId` with `code`; the connection stays. */
  async expectReset(streamId: number, ...codes: number[]): Promise<void> {
    const r = await this.waitFrame((f) => (f.type === FrameType.RST_STREAM && f.streamId === streamId) || (f.type === FrameType.GOAWAY && f.payload.readUInt32BE(4) !== ErrorCode.NO_ERROR));
    if (r.type === FrameType.GOAWAY) throw new Error(`GOAWAY ${errorName(r.payload.readUInt32BE(4))} instead of RST_STREAM`);
    const code = r.payload.readUInt32BE(0);
    if (!codes.includes(code)) throw new Error(`RST_STREAM ${errorName(code)}, expected ${codes.map(errorName).join(' or ')}`);
  }

  /** The connection still answers: a PING comes back acknowledged. */
  async expectAlive(): Promise<void> {
    const payload = Buffer.from(String(Date.now() % 1e8).padStart(8, '0'));
    const from = this.frames.length;
    this.send(frame(FrameType.PING, 0, 0, payload));
    await this.waitFrame((f) => f.type === FrameType.PING && (f.flags & 1) === 1 && f.payload.equals(payload), from);
  }

  /** The response to stream `id`: status, body, trailers (waits for END_STREAM). */
  async response(id: number): Promise<{ status: string | undefined; body: string; headers: string[]; trailers: string[] }> {
    await this.waitFrame((f) => f.streamId === id && (f.flags & 1) === 1 && (f.type === FrameType.DATA || f.type === FrameType.HEADERS));
    const own = this.frames.filter((f) => f.streamId === id);
    const heads = own.filter((f) => f.type === FrameType.HEADERS).map((f) => this.decode(f));
    const headers = heads[0] ?? [];
    const body = Buffer.concat(own.filter((f) => f.type === FrameType.DATA).map((f) => f.payload)).toString();
    return { status: headers[headers.indexOf(':status') + 1], body, headers, trailers: heads[1] ?? [] };
  }

  close(): void {
    this.socket.destroy();
  }

  private describe(): string {
    const names = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];
    const list = this.frames.map((f) => {
      const n = names[f.type] ?? `type${f.type}`;
      if (f.type === FrameType.GOAWAY || f.type === FrameType.RST_STREAM) return `${n}(${f.streamId}, ${errorName(f.payload.readUInt32BE(f.type === FrameType.GOAWAY ? 4 : 0))})`;
      return `${n}(${f.streamId}${f.flags ? `, flags ${f.flags}` : ''})`;
    });
    return `[${list.join(' ')}]${this.closed ? ' closed' : ''}`;
  }
}
