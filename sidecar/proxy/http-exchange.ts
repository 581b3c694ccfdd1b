// What the GraphQL forwarder needs of an exchange beyond the pipeline's (data path): Node's
// headers object to copy, the app's response to relay, and the caller leaving early. Served
// over HTTP/2 streams (h2-exchange.ts) and HTTP/1.1 (http1-exchange.ts).

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Exchange } from '../core/exchange.js';

export interface HttpExchange extends Exchange {
  readonly nodeHeaders: IncomingHttpHeaders;
  /** Relays the app's response: status, headers (hop-by-hop removed) and body, streamed. */
  relay(response: IncomingMessage): void;
  /** Called when the caller goes away before the response is complete. */
  onAbort(callback: () => void): void;
}

/** Response headers of the app that are about the hop, not the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'http2-settings']);

export function responseHeaders(response: IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const h = response.headers;
  for (const name in h) {
    const v = h[name];
    if (v !== undefined && !HOP_BY_HOP.has(name)) out[name] = v;
  }
  return out;
}

/** An HTTP exchange's outcome: the status sent, or a reset (8, CANCEL) when none was. */
export function httpOutcome(status: number | undefined, startedAt: number) {
  return { grpcStatus: undefined, httpStatus: status, rstCode: status === undefined ? 8 : undefined, durationMs: performance.now() - startedAt };
}
