// First filter of the gRPC listener (data path): the call must be a well-formed gRPC
// request — POST, a canonical "/package.Service/Method" path and a gRPC content-type.
// It also fixes the call's deadline: the caller's grpc-timeout capped by config.

import { RejectCode } from '../core/codes.js';
import { reject, type CallContext, type Filter, type FilterResult } from '../core/filter.js';
import { parseGrpcPath } from './path.js';
import { parseGrpcTimeout } from './timeout.js';

const NOT_POST = reject(RejectCode.UNSUPPORTED_MEDIA_TYPE, 'not_post');
const MALFORMED = reject(RejectCode.MALFORMED_PATH, 'malformed_path');
const NOT_GRPC = reject(RejectCode.UNSUPPORTED_MEDIA_TYPE, 'not_grpc_content_type');
const TOO_LARGE = reject(RejectCode.HEADERS_TOO_LARGE, 'header_list_too_large');

/**
 * Header list size as HTTP/2 counts it (RFC 9113 §6.5.2: name + value + 32 per field).
 * nghttp2 enforces SETTINGS_MAX_HEADER_LIST_SIZE only once the client has acknowledged
 * our SETTINGS, so the first requests of a connection are checked here too.
 */
export function headerListSize(rawHeaders: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < rawHeaders.length; i++) size += rawHeaders[i]!.length + 16;
  return size;
}

/** application/grpc, application/grpc+proto, application/grpc;charset=… — not grpc-web. */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || !value.startsWith('application/grpc')) return false;
  const next = value.charCodeAt(16);
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */;
}

export interface GrpcRequestLimits {
  readonly maxTimeoutMs: number;
  readonly maxHeaderListBytes: number;
}

export function grpcRequestFilter({ maxTimeoutMs, maxHeaderListBytes }: GrpcRequestLimits): Filter {
  return {
    name: 'grpc-request',
    apply(ctx: CallContext): FilterResult {
      if (headerListSize(ctx.rawHeaders) > maxHeaderListBytes) return TOO_LARGE;
      const method = parseGrpcPath(ctx.path);
      if (method === undefined) return MALFORMED;
      if (ctx.headers[':method'] !== 'POST') return NOT_POST;
      if (!isGrpcContentType(ctx.headers['content-type'])) return NOT_GRPC;
      ctx.method = method;
      const asked = parseGrpcTimeout(ctx.headers['grpc-timeout']);
      ctx.timeoutMs = asked === undefined ? maxTimeoutMs : Math.min(asked, maxTimeoutMs);
      return undefined;
    },
  };
}
