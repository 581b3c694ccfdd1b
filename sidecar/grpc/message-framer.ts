// Splits a gRPC request body into its length-prefixed messages (data path, gRPC over HTTP/2
// "Length-Prefixed-Message": a compressed-flag byte, a 4-byte big-endian length, the payload),
// whatever the chunking — node:http2 chunks or DATA frame payloads. Used where a complete
// message must be seen before it is relayed (core/body-hooks.ts MessageGuard); the message's
// size is bounded before it is buffered here (the maxMessageBytes ChunkGuard runs first).

const PREFIX = 5;

export class GrpcMessageFramer {
  readonly #chunks: Buffer[] = [];
  #buffered = 0;

  /** Bytes taken in and not yet handed out as a message. */
  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next complete message, prefix included, as the caller sent it; undefined until one is complete. */
  next(): Buffer | undefined {
    if (this.#buffered < PREFIX) return undefined;
    const length = this.#peekLength();
    const total = PREFIX + length;
    if (this.#buffered < total) return undefined;
    return this.#take(total);
  }

  #peekLength(): number {
    const first = this.#chunks[0]!;
    if (first.length >= PREFIX) return first.readUInt32BE(1);
    const head = Buffer.concat(this.#chunks, PREFIX).subarray(0, PREFIX);
    return head.readUInt32BE(1);
  }

  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0]!;
    if (first.length === n) return this.#chunks.shift()!;
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const c = this.#chunks[0]!;
      if (c.length <= left) {
        parts.push(this.#chunks.shift()!);
        left -= c.length;
      } else {
        parts.push(c.subarray(0, left));
        this.#chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    return Buffer.concat(parts, n);
  }
}

/** A message's compressed flag (per `grpc-encoding`). */
export function isCompressed(message: Buffer): boolean {
  return message[0] === 1;
}

/** A message's payload, without its prefix (a view, not a copy). */
export function messagePayload(message: Buffer): Buffer {
  return message.subarray(PREFIX);
}
