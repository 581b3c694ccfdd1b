// The knobs of an HTTP/2 connection of the own codec, with the defaults that match the
// sidecar's `limits` config and Envoy's edge defaults (control path: read once per listener).

import { DEFAULT_FLOOD_LIMITS, type FloodLimits } from './flood-guard.js';

export interface H2Options {
  /** Streams the peer may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS, announced as is); excess ones are refused alone. */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: decoded size (name + value + 32 per field) of one header list. */
  readonly maxHeaderListSize: number;
  /**
   * The size over which a header list is refused by the codec itself (RST_STREAM
   * ENHANCE_YOUR_CALM); between the announced size and this one, the list is handed on and
   * the request path answers it (431 for HTTP, RESOURCE_EXHAUSTED for gRPC), as happens
   * when a peer sends before it has seen our SETTINGS. Default: the announced size.
   */
  readonly refusedHeaderListSize: number | undefined;
  /** Fields per header list. */
  readonly maxHeaderFields: number;
  /** SETTINGS_HEADER_TABLE_SIZE: the HPACK table the peer's encoder may use. */
  readonly headerTableSize: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE: what the peer may send on one stream before we return credit. */
  readonly streamWindow: number;
  /** The connection's receive window (raised from 65,535 by a WINDOW_UPDATE at start). */
  readonly connectionWindow: number;
  /** CONTINUATION frames after one HEADERS (CVE-2024-27316). */
  readonly maxContinuations: number;
  /** The largest header block (encoded) kept to decode it; over it the connection goes (CVE-2024-27316). */
  readonly maxHeaderBlockBytes: number;
  /** Preface and SETTINGS must arrive within this (ms). */
  readonly handshakeTimeoutMs: number;
  /** Server: the first request head must be complete within this after the connection opened (ms; 0 = no limit). */
  readonly firstRequestTimeoutMs: number;
  /** A header block, once begun (its first octets), must be complete within this (ms; 0 = no limit). */
  readonly requestHeadersTimeoutMs: number;
  /** The timeouts are checked by the owner's `sweep(now)` calls (a listener's one timer), not a timer per connection. */
  readonly externalSweep: boolean;
  /** A connection without streams for this long is closed with GOAWAY NO_ERROR (ms; 0 = never). */
  readonly idleTimeoutMs: number;
  /** The socket holds this many octets not yet taken by the kernel: DATA waits (ms of a slow reader). */
  readonly congestionBytes: number;
  /** Over this many unwritten octets, a peer that does not read is cut off (ENHANCE_YOUR_CALM). */
  readonly maxUnwrittenBytes: number;
  readonly floods: FloodLimits;
}

export const DEFAULT_H2_OPTIONS: H2Options = Object.freeze({
  maxConcurrentStreams: 100,
  maxHeaderListSize: 16_384,
  refusedHeaderListSize: undefined,
  maxHeaderFields: 64,
  headerTableSize: 4096,
  streamWindow: 1 << 20,
  connectionWindow: 1 << 20,
  maxContinuations: 32,
  maxHeaderBlockBytes: 80 * 1024,
  handshakeTimeoutMs: 10_000,
  firstRequestTimeoutMs: 0,
  requestHeadersTimeoutMs: 0,
  externalSweep: false,
  idleTimeoutMs: 300_000,
  congestionBytes: 256 * 1024,
  maxUnwrittenBytes: 4 << 20,
  floods: DEFAULT_FLOOD_LIMITS,
});

export function h2Options(overrides: Partial<H2Options> = {}): H2Options {
  return Object.freeze({ ...DEFAULT_H2_OPTIONS, ...overrides });
}
