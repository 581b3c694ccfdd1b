// The filter contract of the request path (DESIGN §7, STYLE "The request path"), whatever the
// protocol and whatever carries the bytes: a filter reads the call and returns undefined
// (continue) or a Rejection — a value, never a throw for an expected denial. Data path.
// The call type is the pipeline's (pipeline/call.ts); this ground floor knows none of it.

import type { RejectCode } from './codes.js';

/** Extra headers of a reply meshward writes: gRPC trailers-only metadata or HTTP headers. */
export type ReplyHeaders = Readonly<Record<string, string>>;

export interface Rejection {
  readonly code: RejectCode;
  /** Machine-readable reason for metrics and the audit log, e.g. "default_deny". */
  readonly reason: string;
  /** The rule that decided, when one did. */
  readonly rule?: string;
  /** Human detail for logs and spans; never sent to the caller. */
  readonly detail?: string;
  /**
   * Extra headers of meshward's reply: metadata in the gRPC trailers-only answer (e.g.
   * `grpc-status-details-bin`), or HTTP headers. Built once, not per call.
   */
  readonly replyHeaders?: ReplyHeaders;
  /**
   * GraphQL replies: `extensions` of the error (DESIGN §5), e.g. `{ code: 'MAX_DEPTH_LIMIT',
   * limit: 8, actual: 12 }`; without it the reply's code is derived from `code`.
   */
  readonly graphqlExtensions?: Readonly<Record<string, string | number>>;
  /** When a refused caller may try again (rate limits, cost budgets): `Retry-After` of HTTP replies. */
  readonly retryAfterMs?: number;
  /** GraphQL replies: a short message for the caller instead of the code's generic one (never the query). */
  readonly graphqlMessage?: string;
  /** Message validation: the ids of the constraints a request message broke (the audit record lists them). */
  readonly constraints?: readonly string[];
}

export type FilterResult = Rejection | undefined;

/**
 * When a filter runs. `head` (the default): on the request head — headers, peer, deadline,
 * the snapshot — before any body byte is read or relayed. `body`: once the request body has
 * been read whole, bounded by the body filters' `bodyLimit`; a chain with body filters buffers
 * the body before it decides (GraphQL). Streamed bodies (gRPC) are checked by body hooks
 * instead (body-hooks.ts), message by message as they are relayed.
 */
export type FilterPhase = 'head' | 'body';

/** A step of a chain. Every head filter comes before every body filter (the pipeline checks). */
export interface Filter<C> {
  readonly name: string;
  readonly phase?: FilterPhase;
  /**
   * Body filters: the most request body this call may send, or undefined when it has none to
   * read (a GET). Asked once, before the body is read: the first body filter that answers
   * sets the bound; a larger body is not buffered (the call's body is then 'too_large').
   */
  bodyLimit?(call: C): number | undefined;
  apply(call: C): FilterResult | Promise<FilterResult>;
}

export function reject(code: RejectCode, reason: string, detail?: string, rule?: string): Rejection {
  return { code, reason, detail, rule };
}
