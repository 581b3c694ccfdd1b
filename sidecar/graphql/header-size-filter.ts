// First filter of GraphQL requests (data path): a header list over the listener's limit
// (a GET whose query string is too long, mostly) is answered 431 alone, and never forwarded.
// nghttp2 enforces SETTINGS_MAX_HEADER_LIST_SIZE only once the client has acknowledged it,
// and then by resetting the stream; until then such a request reaches this filter.

import { RejectCode } from '../core/codes.js';
import { reject, type CallInfo, type Filter, type FilterResult } from '../core/filter.js';
import { headerListSize } from '../grpc/grpc-request-filter.js';

const TOO_LARGE = reject(RejectCode.HEADERS_TOO_LARGE, 'header_list_too_large');

export function headerSizeFilter(maxHeaderListBytes: number): Filter<CallInfo> {
  return {
    name: 'header-size',
    apply(ctx: CallInfo): FilterResult {
      return headerListSize(ctx.rawHeaders) > maxHeaderListBytes ? TOO_LARGE : undefined;
    },
  };
}
