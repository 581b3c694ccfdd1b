// W3C Trace Context (https://www.w3.org/TR/trace-context/): parse the caller's `traceparent`,
// format the one meshward sends to the app, make ids. Data path: no allocation beyond the
// result, no regex.

import { randomFillSync } from 'node:crypto';

/** A valid `traceparent` as received. */
export interface RemoteParent {
  readonly traceId: string;
  readonly spanId: string;
  /** trace-flags bit 0 (sampled). */
  readonly sampled: boolean;
}

const LENGTH_V00 = 55; // "00-" + 32 + "-" + 16 + "-" + 2

/**
 * Parses a `traceparent` header (§3.2). Returns undefined for anything invalid: wrong
 * length or separators, upper-case or non-hex digits, version `ff`, all-zero ids, or
 * several headers joined into one. Versions above 00 are read by their 00 prefix (§4.3).
 */
export function parseTraceparent(value: string | string[] | undefined): RemoteParent | undefined {
  if (typeof value !== 'string') return undefined;
  const len = value.length;
  if (len < LENGTH_V00) return undefined;
  if (value.charCodeAt(2) !== 0x2d || value.charCodeAt(35) !== 0x2d || value.charCodeAt(52) !== 0x2d) return undefined;
  if (!isLowerHex(value, 0, 2) || !isLowerHex(value, 3, 35) || !isLowerHex(value, 36, 52) || !isLowerHex(value, 53, 55)) return undefined;
  const v0 = value.charCodeAt(0);
  const v1 = value.charCodeAt(1);
  if (v0 === 0x30 && v1 === 0x30) {
    if (len !== LENGTH_V00) return undefined; // version 00 has exactly four fields
  } else {
    if (v0 === 0x66 && v1 === 0x66) return undefined; // version ff is invalid
    if (len > LENGTH_V00 && value.charCodeAt(LENGTH_V00) !== 0x2d) return undefined;
  }
  if (isAllZero(value, 3, 35) || isAllZero(value, 36, 52)) return undefined;
  const flags = hexDigit(value.charCodeAt(54));
  return { traceId: value.slice(3, 35), spanId: value.slice(36, 52), sampled: (flags & 1) === 1 };
}

/** `traceparent` version 00 for a span. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function isAllZero(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) !== 0x30) return false;
  return true;
}

function hexDigit(c: number): number {
  return c <= 0x39 ? c - 0x30 : c - 0x61 + 10;
}

// Ids are cut from a pool of random hex text, refilled 4 KiB of random bytes at a time: one
// crypto call and one hex conversion per ~170 calls, and an id is a cheap substring. Trace ids
// need randomness (samplers read them), not secrecy.
const POOL_BYTES = 4096;
const poolBytes = Buffer.allocUnsafe(POOL_BYTES);
let hexPool = '';
let hexOffset = 0;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

function randomHex(chars: number, zero: string): string {
  for (;;) {
    if (hexOffset + chars > hexPool.length) {
      randomFillSync(poolBytes);
      hexPool = poolBytes.toString('hex');
      hexOffset = 0;
    }
    const id = hexPool.slice(hexOffset, hexOffset + chars);
    hexOffset += chars;
    if (id !== zero) return id; // an all-zero id is invalid (chance 2^-64 or less)
  }
}

export function newTraceId(): string {
  return randomHex(32, ZERO_TRACE);
}

export function newSpanId(): string {
  return randomHex(16, ZERO_SPAN);
}
