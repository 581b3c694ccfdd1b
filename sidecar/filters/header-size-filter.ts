// The header list bound of GraphQL requests (data path, after the endpoint filter): a header
// list over the listener's limit (a GET whose query string is too long, mostly) is answered
// 431 alone, and never forwarded. nghttp2 enforces SETTINGS_MAX_HEADER_LIST_SIZE only once the
// client has acknowledged it, and then by resetting the stream; until then such a request
// reaches this filter. (gRPC calls get the same bound from the gRPC request filter.)

import { RejectCode } from '../core/codes.js';
import { reject, type FilterResult } from '../core/filter.js';
import { headerListSize } from '../grpc/request-head.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

const TOO_LARGE = reject(RejectCode.HEADERS_TOO_LARGE, 'header_list_too_large');

export function headerSizeFilter(maxHeaderListBytes: number): CallFilter {
  return {
    name: 'header-size',
    apply: (call: Call): FilterResult => (headerListSize(call.headers.pairs) > maxHeaderListBytes ? TOO_LARGE : undefined),
  };
}
