// Inflates a compressed gRPC request message for checking (DESIGN §9): `grpc-encoding` gzip or
// deflate (zlib format, as gRPC means it), never past the rule's maxMessageBytes. DATA path,
// synchronous: the input is at most maxMessageBytes already, and zlib stops at the bound, so
// the work per message is bounded; the app still receives the original compressed bytes.

import { gunzipSync, inflateSync, type ZlibOptions } from 'node:zlib';

/** The encodings meshward can inflate; others are refused when a message says it is compressed. */
export type MessageEncoding = 'gzip' | 'deflate';

export type InflateResult = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly why: 'too_large' | 'corrupt' };

/** The `grpc-encoding` header as a known encoding, 'identity', or undefined when none is sent. */
export function parseEncoding(header: string | string[] | undefined): MessageEncoding | 'identity' | 'unsupported' | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') return 'unsupported';
  const value = header.trim().toLowerCase();
  if (value === 'gzip' || value === 'deflate' || value === 'identity') return value;
  return 'unsupported';
}

export function inflateMessage(encoding: MessageEncoding, data: Uint8Array, maxBytes: number): InflateResult {
  // maxOutputLength makes zlib stop (RangeError) instead of producing more: a small bomb
  // costs at most maxBytes of output, never more.
  const options: ZlibOptions = { maxOutputLength: Math.max(1, maxBytes) };
  try {
    const bytes = encoding === 'gzip' ? gunzipSync(data, options) : inflateSync(data, options);
    return { ok: true, bytes };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, why: code === 'ERR_BUFFER_TOO_LARGE' ? 'too_large' : 'corrupt' };
  }
}
