// Holds each request message of one call until it is complete and checked (DESIGN §9), then
// releases its ORIGINAL bytes (prefix included, compressed or not) — never a re-encoding. DATA
// path, transport-neutral: request bytes in as they arrive (DATA frame payloads, stream
// chunks), released messages and a verdict out. The forwarder (proxy/) and the own HTTP/2
// codec's relay both drive it. Bounded: a message is held up to maxMessageBytes (its 5-byte
// gRPC prefix is read first), and inflated up to the same bound.

import type { MessageGuard, Rejection } from '../core/filter.js';
import { inflateMessage, type MessageEncoding } from './inflate.js';
import { checkMessage, type MessageCheck } from './message-check.js';

const PREFIX = 5;

export interface GuardOptions {
  /** The request's `grpc-encoding`: what a message flagged as compressed is inflated with. */
  readonly encoding: MessageEncoding | 'identity' | 'unsupported' | undefined;
  /** The rule's maxMessageBytes: the bound on a held message and on an inflated one. */
  readonly maxMessageBytes: number;
  /** The refusal of a message over the bound (8 RESOURCE_EXHAUSTED, as the limits send it). */
  readonly tooLarge: Rejection;
  /** Audit mode: called with the refusal the first message that fails would have had (it goes on). */
  readonly onAudit: (wouldRefuse: Rejection) => void;
}

export class RequestMessageGuard implements MessageGuard {
  readonly holdFirst: boolean;
  #passed = 0;
  /** Bytes of the message being assembled, as they came. */
  #parts: Buffer[] = [];
  #held = 0;
  /** Prefix + body length of the message being assembled; 0 until its prefix is complete. */
  #need = 0;
  #audited = false;

  constructor(
    private readonly check: MessageCheck,
    private readonly opts: GuardOptions,
  ) {
    this.holdFirst = check.holdFirst;
  }

  get passed(): number {
    return this.#passed;
  }

  push(chunk: Buffer, release: (message: Buffer) => void): Rejection | undefined {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#held === 0 && n - i >= PREFIX) {
        // The usual case: a whole prefix here; often the whole message too (no copy then).
        const length = chunk.readUInt32BE(i + 1);
        if (length > this.opts.maxMessageBytes) return this.opts.tooLarge;
        const end = i + PREFIX + length;
        if (end > n) {
          this.#hold(chunk.subarray(i), PREFIX + length);
          return undefined;
        }
        const refused = this.#judge(chunk.subarray(i, end));
        if (refused !== undefined) return refused;
        release(chunk.subarray(i, end));
        i = end;
        continue;
      }
      // Assembling across chunks: first the prefix, then the body.
      const want = this.#need === 0 ? PREFIX - this.#held : this.#need - this.#held;
      const take = Math.min(want, n - i);
      this.#parts.push(chunk.subarray(i, i + take));
      this.#held += take;
      i += take;
      if (this.#need === 0) {
        if (this.#held < PREFIX) continue;
        const prefix = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
        const length = prefix.readUInt32BE(1);
        if (length > this.opts.maxMessageBytes) return this.opts.tooLarge;
        this.#need = PREFIX + length;
        if (this.#held < this.#need) continue;
      } else if (this.#held < this.#need) continue;
      const message = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#held);
      this.#parts = [];
      this.#held = 0;
      this.#need = 0;
      const refused = this.#judge(message);
      if (refused !== undefined) return refused;
      release(message);
    }
    return undefined;
  }

  end(release: (bytes: Buffer) => void): Rejection | undefined {
    if (this.#held === 0) return undefined;
    // The caller ended the request inside a message: refused, nothing of it is forwarded
    // (an audit rule passes the bytes on as they came).
    const partial = Buffer.concat(this.#parts, this.#held);
    this.#parts = [];
    this.#held = 0;
    const refused = this.#verdict(this.check.undecodable);
    if (refused === undefined) release(partial);
    return refused;
  }

  #hold(part: Buffer, need: number): void {
    this.#parts.push(part);
    this.#held = part.length;
    this.#need = need;
  }

  /** undefined = release the message (it passed, or the rule only audits). */
  #judge(message: Buffer): Rejection | undefined {
    const flags = message[0]!;
    let body: Uint8Array = message.subarray(PREFIX);
    if (flags === 1) {
      const encoding = this.opts.encoding;
      if (encoding !== 'gzip' && encoding !== 'deflate') return this.#verdict(this.check.undecodable);
      const inflated = inflateMessage(encoding, body, this.opts.maxMessageBytes);
      if (!inflated.ok) return inflated.why === 'too_large' ? this.opts.tooLarge : this.#verdict(this.check.undecodable);
      body = inflated.bytes;
    } else if (flags !== 0) {
      return this.#verdict(this.check.undecodable);
    }
    const verdict = this.#verdict(checkMessage(this.check, body));
    if (verdict === undefined) this.#passed++;
    return verdict;
  }

  /** Enforce: the refusal stands. Audit: the first one is reported, the message goes on. */
  #verdict(refusal: Rejection | undefined): Rejection | undefined {
    if (refusal === undefined || this.check.mode === 'enforce') return refusal;
    if (!this.#audited) {
      this.#audited = true;
      this.opts.onAudit(refusal);
    }
    return undefined;
  }
}
