// Splits a byte stream into HTTP/2 frames (RFC 9113 §4.1) over partial reads — data path.
// A frame that lies whole in one read is handed over in place (no copy); one split across
// reads is assembled once into a buffer of its exact size. The server side first checks
// the client connection preface (§3.4). Frames longer than our SETTINGS_MAX_FRAME_SIZE are
// refused before their payload is buffered (§4.2).

import { FRAME_HEADER_BYTES, PREFACE } from './constants.js';

export interface FrameSink {
  /**
   * One frame: header at buf[off, off + 9), payload at buf[off + 9, off + 9 + length).
   * The buffer is the sink's to keep or rewrite. Returns false to stop reading (the
   * connection is closing).
   */
  onFrame(buf: Buffer, off: number, type: number, flags: number, streamId: number, length: number): boolean;
  /** The preface was wrong, or a frame is over the size limit; no more frames follow. */
  onReadError(reason: 'preface' | 'frame-size', detail: string): void;
}

export class FrameReader {
  /** A frame (or the preface) being assembled across reads. */
  private acc: Buffer = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  private accLen = 0;
  /** Size of the frame being assembled; 0 while its header is still incomplete. */
  private need = 0;
  private prefaceLeft: number;
  private stopped = false;

  constructor(
    private readonly sink: FrameSink,
    /** Our SETTINGS_MAX_FRAME_SIZE. */
    public maxFrameSize: number,
    expectPreface: boolean,
  ) {
    this.prefaceLeft = expectPreface ? PREFACE.length : 0;
  }

  /** Frames are parsed and delivered synchronously; bytes after a stop are ignored. */
  push(chunk: Buffer): void {
    if (this.stopped) return;
    let off = 0;
    if (this.prefaceLeft > 0) {
      off = this.matchPreface(chunk);
      if (off < 0 || this.prefaceLeft > 0) return;
    }
    if (this.accLen > 0) {
      off = this.continuePartial(chunk, off);
      if (off < 0) return;
    }
    const end = chunk.length;
    while (end - off >= FRAME_HEADER_BYTES) {
      const length = (chunk[off]! << 16) | (chunk[off + 1]! << 8) | chunk[off + 2]!;
      if (length > this.maxFrameSize) return this.tooLarge(length);
      const total = FRAME_HEADER_BYTES + length;
      if (end - off < total) break;
      if (!this.emit(chunk, off, length)) return;
      off += total;
    }
    if (off < end) this.startPartial(chunk, off);
  }

  /** The type of a frame received in part (its first 4 octets known), or -1. */
  get partialType(): number {
    return this.accLen >= 4 ? this.acc[3]! : -1;
  }

  /** Stop reading (the connection is closing). */
  stop(): void {
    this.stopped = true;
  }

  private matchPreface(chunk: Buffer): number {
    const at = PREFACE.length - this.prefaceLeft;
    const n = Math.min(this.prefaceLeft, chunk.length);
    for (let i = 0; i < n; i++) {
      if (chunk[i] !== PREFACE[at + i]) {
        this.stopped = true;
        this.sink.onReadError('preface', 'not an HTTP/2 connection preface');
        return -1;
      }
    }
    this.prefaceLeft -= n;
    return n;
  }

  private startPartial(chunk: Buffer, off: number): void {
    const rest = chunk.length - off;
    if (rest >= FRAME_HEADER_BYTES) {
      const length = (chunk[off]! << 16) | (chunk[off + 1]! << 8) | chunk[off + 2]!;
      this.need = FRAME_HEADER_BYTES + length;
      this.acc = Buffer.allocUnsafe(this.need);
    } else {
      this.need = 0;
      if (this.acc.length < FRAME_HEADER_BYTES) this.acc = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    }
    chunk.copy(this.acc, 0, off);
    this.accLen = rest;
  }

  /** Adds bytes to the partial frame; returns where the chunk's unread bytes start, or -1. */
  private continuePartial(chunk: Buffer, off: number): number {
    if (this.need === 0) {
      const take = Math.min(FRAME_HEADER_BYTES - this.accLen, chunk.length - off);
      chunk.copy(this.acc, this.accLen, off, off + take);
      this.accLen += take;
      off += take;
      if (this.accLen < FRAME_HEADER_BYTES) return -1;
      const length = (this.acc[0]! << 16) | (this.acc[1]! << 8) | this.acc[2]!;
      if (length > this.maxFrameSize) {
        this.tooLarge(length);
        return -1;
      }
      this.need = FRAME_HEADER_BYTES + length;
      const frame = Buffer.allocUnsafe(this.need);
      this.acc.copy(frame, 0, 0, FRAME_HEADER_BYTES);
      this.acc = frame;
    }
    const take = Math.min(this.need - this.accLen, chunk.length - off);
    chunk.copy(this.acc, this.accLen, off, off + take);
    this.accLen += take;
    off += take;
    if (this.accLen < this.need) return -1;
    const frame = this.acc;
    this.acc = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    this.accLen = 0;
    this.need = 0;
    return this.emit(frame, 0, frame.length - FRAME_HEADER_BYTES) ? off : -1;
  }

  private emit(buf: Buffer, off: number, length: number): boolean {
    const type = buf[off + 3]!;
    const flags = buf[off + 4]!;
    // §4.1: the reserved bit is ignored.
    const streamId = ((buf[off + 5]! & 0x7f) << 24) | (buf[off + 6]! << 16) | (buf[off + 7]! << 8) | buf[off + 8]!;
    if (!this.sink.onFrame(buf, off, type, flags, streamId, length) || this.stopped) {
      this.stopped = true;
      return false;
    }
    return true;
  }

  private tooLarge(length: number): void {
    this.stopped = true;
    this.sink.onReadError('frame-size', `frame of ${length} octets over SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSize}`);
  }
}
