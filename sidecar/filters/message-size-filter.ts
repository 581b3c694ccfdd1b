// The largest request message (DESIGN §5 `maxMessageBytes`, data path): every gRPC call gets
// a guard that reads each message's 5-byte length prefix as the relay moves request bytes and
// refuses a message that is too large before any byte of its body is forwarded. The bound is
// the call's rule's (prepared when the snapshot was published), else gRPC's 4 MiB default.

import type { FilterResult } from '../core/filter.js';
import { FrameSizeGuard } from '../ratelimit/frame-size-guard.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

export function messageSizeFilter(): CallFilter {
  return {
    name: 'message-size',
    apply(call: Call): FilterResult {
      const limits = call.snapshot.limits.forRule(call.decision?.rules);
      call.requestGuard = new FrameSizeGuard(limits.maxMessageBytes, limits.tooLarge);
      return undefined;
    },
  };
}
