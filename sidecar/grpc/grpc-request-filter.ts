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

/** application/grpc, application/grpc+proto, application/grpc;charset=… — not grpc-web. */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || !value.startsWith('application/grpc')) return false;
  const next = value.charCodeAt(16);
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */;
}

export function grpcRequestFilter(maxTimeoutMs: number): Filter {
  return {
    name: 'grpc-request',
    apply(ctx: CallContext): FilterResult {
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
