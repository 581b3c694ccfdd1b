// The transport seam (data path): one request and its response, whatever carries the bytes —
// a stream of meshward's own HTTP/2 codec or an HTTP/1.1 request (proxy/). The pipeline builds a call from an exchange, replies through it (reply.ts writes
// every reply meshward makes) and reads from it what the caller got; forwarders relay bytes.

import type { ReplyHeaders } from './filter.js';
import type { CallOutcome } from './observer.js';

/**
 * The request headers as received. `get` answers for a lowercase name with its first value
 * (or the values joined, as the transport's own lookup does); `pairs` holds every field in
 * order, duplicates kept: name, value, name, value… (HTTP/1.1 names keep their case).
 */
export interface CallHeaders {
  get(name: string): string | undefined;
  readonly pairs: readonly string[];
}

/** A request body read whole: the bytes, more than the bound allowed, or the caller left first. */
export type BodyRead = Buffer | 'too_large' | 'aborted';

export interface Exchange {
  /** `:method` / the HTTP method. */
  readonly method: string;
  /** The request target as received: `:path`, or the HTTP/1.1 target with its query string. */
  readonly target: string;
  readonly headers: CallHeaders;
  /** The caller is gone or the response is complete: nothing more can be sent. */
  readonly closed: boolean;
  /** Response headers went out (meshward's or the app's). */
  readonly responded: boolean;
  /** The whole request body, at most `maxBytes` (a larger one is refused without buffering it). */
  readBody(maxBytes: number): Promise<BodyRead>;
  /**
   * A complete response from meshward: status, headers and an optional body; the rest of the
   * request body is then not wanted. Does nothing once closed. Only reply.ts calls it.
   */
  respond(status: number, headers: ReplyHeaders, body: string | undefined): void;
  /** Ends the exchange abruptly (HTTP/2 RST_STREAM INTERNAL_ERROR; HTTP/1.1: the connection). */
  reset(): void;
  /** Called once when the exchange is over (response finished, or either side gone). */
  onClose(listener: () => void): void;
  /** What the caller received, for observers: read once the exchange is over. */
  outcome(startedAt: number): CallOutcome;
}
