// What a call asks of the relay that moves its streamed body (data path), independent of how
// the bytes move (today: DATA frame payloads of meshward's own HTTP/2 codec, h2/relay-lane.ts).
// Filters set these on the call (pipeline/call.ts); every relay must honour them.

import type { Rejection } from './filter.js';

/**
 * A synchronous look at each request chunk, in order, before it is relayed (e.g. the gRPC
 * length prefix against `maxMessageBytes`). A Rejection ends the call: that chunk is not relayed.
 */
export interface ChunkGuard {
  check(chunk: Buffer): Rejection | undefined;
}

/**
 * Paces one direction of a call (bandwidth): `bytes` are about to be relayed at `now` (ms,
 * performance.now()); the answer is how long to hold them first (0 = relay now). The relay
 * holds them and everything after them that long — flow control then slows the sender.
 */
export interface Pacer {
  pace(bytes: number, now: number): number;
}

/**
 * Holds each request message until it is complete and checked (message validation, DESIGN §9):
 * request bytes in as they arrive, the original bytes of each checked message out through
 * `release`. A Rejection ends the call; nothing of the refused message is relayed. Messages
 * are bounded by the rule's maxMessageBytes inside the guard (it replaces the ChunkGuard).
 */
export interface MessageGuard {
  /** Whether the forward waits for the first message to pass before the app sees the call (not for bidi streams). */
  readonly holdFirst: boolean;
  /** Request messages that passed so far. */
  readonly passed: number;
  /** Takes request bytes; hands each complete message that passed to `release`; a Rejection ends the call. */
  push(chunk: Buffer, release: (message: Buffer) => void): Rejection | undefined;
  /** The caller finished sending: a message left incomplete is a refusal (an audit rule releases its bytes). */
  end(release: (bytes: Buffer) => void): Rejection | undefined;
}
