// What a call asks of the relay that moves its streamed body (data path), independent of how
// the bytes move: chunks of a node:http2 stream, or DATA frame payloads of meshward's own
// codec. Filters set these on the call (pipeline/call.ts); every relay must honour them.

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
 * A check of each complete request message: one length-prefixed gRPC message (the 5-byte
 * prefix — compressed flag, big-endian length — and its payload) in, a verdict out. The relay
 * holds the message's bytes until every guard has answered, then relays the original bytes,
 * or ends the call with the Rejection. Message validation (DESIGN §9) plugs in here. Messages
 * are bounded by the call's ChunkGuard (maxMessageBytes) before they are assembled.
 */
export interface MessageGuard {
  check(message: Buffer): Rejection | undefined | Promise<Rejection | undefined>;
}
