// Builds HTTP/2 frames (RFC 9113 §6) — data path. Each function returns the bytes of one
// frame (or of a HEADERS + CONTINUATION sequence); the connection's output batch writes
// them. DATA can also be relayed as received: `rewriteStreamId` changes the header of a
// frame in place, so its payload is never copied.

import { FRAME_HEADER_BYTES, Flag, FrameType } from './constants.js';

export function writeFrameHeader(buf: Buffer, off: number, length: number, type: number, flags: number, streamId: number): void {
  buf[off] = length >>> 16;
  buf[off + 1] = (length >>> 8) & 0xff;
  buf[off + 2] = length & 0xff;
  buf[off + 3] = type;
  buf[off + 4] = flags;
  buf.writeUInt32BE(streamId & 0x7fffffff, off + 5);
}

/** Changes the stream id (and END_STREAM) in the header of a DATA frame at buf[off]. */
export function rewriteStreamId(buf: Buffer, off: number, streamId: number, flags: number): void {
  buf[off + 4] = flags;
  buf.writeUInt32BE(streamId, off + 5);
}

export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(b, 0, length, type, flags, streamId);
  return b;
}

/** A whole DATA frame with a copy of `data` (for small payloads; large ones go as header + payload). */
export function dataFrame(streamId: number, data: Uint8Array, start: number, end: number, endStream: boolean): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_BYTES + end - start);
  writeFrameHeader(b, 0, end - start, FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId);
  b.set(data.subarray(start, end), FRAME_HEADER_BYTES);
  return b;
}

/**
 * HEADERS, split into CONTINUATION frames when the block is over the peer's maximum frame
 * size (§6.10). `block` holds the encoded fields from offset 9 (the encoder left room for
 * the first frame header), so the common single-frame case is written without a copy.
 */
export function headersFrames(streamId: number, block: Buffer, endStream: boolean, maxFrameSize: number): Buffer {
  const length = block.length - FRAME_HEADER_BYTES;
  const es = endStream ? Flag.END_STREAM : 0;
  if (length <= maxFrameSize) {
    writeFrameHeader(block, 0, length, FrameType.HEADERS, es | Flag.END_HEADERS, streamId);
    return block;
  }
  const frames = Math.ceil(length / maxFrameSize);
  const out = Buffer.allocUnsafe(length + frames * FRAME_HEADER_BYTES);
  let src = FRAME_HEADER_BYTES;
  let dst = 0;
  for (let i = 0; i < frames; i++) {
    const n = Math.min(maxFrameSize, block.length - src);
    const last = i === frames - 1;
    const type = i === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (i === 0 ? es : 0) | (last ? Flag.END_HEADERS : 0);
    writeFrameHeader(out, dst, n, type, flags, streamId);
    block.copy(out, dst + FRAME_HEADER_BYTES, src, src + n);
    src += n;
    dst += FRAME_HEADER_BYTES + n;
  }
  return out;
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(b, 0, 4, FrameType.RST_STREAM, 0, streamId);
  b.writeUInt32BE(code, FRAME_HEADER_BYTES);
  return b;
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(b, 0, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  b.writeUInt32BE(increment, FRAME_HEADER_BYTES);
  return b;
}

export function pingFrame(payload: Uint8Array, ack: boolean): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8);
  writeFrameHeader(b, 0, 8, FrameType.PING, ack ? Flag.ACK : 0, 0);
  b.set(payload.subarray(0, 8), FRAME_HEADER_BYTES);
  return b;
}

export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const d = Buffer.from(debug.slice(0, 256), 'latin1');
  const b = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8 + d.length);
  writeFrameHeader(b, 0, 8 + d.length, FrameType.GOAWAY, 0, 0);
  b.writeUInt32BE(lastStreamId, FRAME_HEADER_BYTES);
  b.writeUInt32BE(code, FRAME_HEADER_BYTES + 4);
  d.copy(b, FRAME_HEADER_BYTES + 8);
  return b;
}

/** SETTINGS with the given [id, value] pairs, or the empty ACK. */
export function settingsFrame(values: readonly (readonly [number, number])[], ack = false): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_BYTES + values.length * 6);
  writeFrameHeader(b, 0, values.length * 6, FrameType.SETTINGS, ack ? Flag.ACK : 0, 0);
  values.forEach(([id, value], i) => {
    b.writeUInt16BE(id, FRAME_HEADER_BYTES + i * 6);
    b.writeUInt32BE(value, FRAME_HEADER_BYTES + i * 6 + 2);
  });
  return b;
}

export const SETTINGS_ACK = settingsFrame([], true);
