// First filter of a gRPC chain (data path): the call must be a well-formed gRPC request —
// POST, a canonical "/package.Service/Method" path and a gRPC content-type — with a header
// list within bounds. It also fixes the call's deadline: the caller's grpc-timeout capped.

import { RejectCode } from '../core/codes.js';
import { reject, type FilterResult } from '../core/filter.js';
import { parseGrpcPath } from '../grpc/path.js';
import { headerListSize, isGrpcContentType } from '../grpc/request-head.js';
import { parseGrpcTimeout } from '../grpc/timeout.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

export { headerListSize } from '../grpc/request-head.js';

const NOT_POST = reject(RejectCode.UNSUPPORTED_MEDIA_TYPE, 'not_post');
const MALFORMED = reject(RejectCode.MALFORMED_PATH, 'malformed_path');
const NOT_GRPC = reject(RejectCode.UNSUPPORTED_MEDIA_TYPE, 'not_grpc_content_type');
const TOO_LARGE = reject(RejectCode.HEADERS_TOO_LARGE, 'header_list_too_large');

export interface GrpcRequestLimits {
  readonly maxTimeoutMs: number;
  readonly maxHeaderListBytes: number;
}

export function grpcRequestFilter({ maxTimeoutMs, maxHeaderListBytes }: GrpcRequestLimits): CallFilter {
  return {
    name: 'grpc-request',
    apply(call: Call): FilterResult {
      const headers = call.headers;
      if (headerListSize(headers.pairs) > maxHeaderListBytes) return TOO_LARGE;
      const method = parseGrpcPath(call.path);
      if (method === undefined) return MALFORMED;
      if (call.httpMethod !== 'POST') return NOT_POST;
      if (!isGrpcContentType(headers.get('content-type'))) return NOT_GRPC;
      call.method = method;
      const asked = parseGrpcTimeout(headers.get('grpc-timeout'));
      call.timeoutMs = asked === undefined ? maxTimeoutMs : Math.min(asked, maxTimeoutMs);
      return undefined;
    },
  };
}
