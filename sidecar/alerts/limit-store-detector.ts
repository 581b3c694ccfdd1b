// MeshwardLimitStoreDown (DESIGN §10): the shared limit store (Redis) does not answer. With
// failMode closed every call with a shared limit is refused (14 UNAVAILABLE), so it is critical.
// Resolves when the store answers again. CONTROL path (evaluation timer).

import type { StoreStatus } from '../ratelimit/redis-store.js';
import { type AlertDraft } from './alert.js';

export function limitStoreDown(status: StoreStatus | undefined, failMode: 'open' | 'closed'): AlertDraft | undefined {
  if (status === undefined || status.state === 'up') return undefined;
  return {
    alertname: 'MeshwardLimitStoreDown',
    severity: failMode === 'closed' ? 'critical' : 'warning',
    summary: `The shared limit store (Redis) is unreachable; failMode ${failMode}`,
    description:
      failMode === 'closed'
        ? 'Calls under a shared rate limit or cost budget are refused with 14 UNAVAILABLE until Redis answers again.'
        : 'Calls under a shared rate limit or cost budget pass without being counted (failMode open) until Redis answers again.',
    rule: 'the limit store does not answer within rateLimit.redis.timeout',
    numbers: {
      down_since: new Date(status.since).toISOString(),
      outages: String(status.outages),
      unavailable_calls: String(status.unavailableCalls),
      fail_mode: failMode,
    },
  };
}
