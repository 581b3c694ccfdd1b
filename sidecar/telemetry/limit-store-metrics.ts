// The shared limit store's health as metrics, read at scrape time (CONTROL path): up or not,
// outages, and calls answered by failMode without the store. Nothing is counted per call here.

import type { StoreStatus } from '../ratelimit/redis-store.js';
import { renderSingle } from './metric-family.js';

/** A /metrics collector; empty with the memory store. */
export function limitStoreCollector(status: () => StoreStatus | undefined): () => string {
  return () => {
    const s = status();
    if (s === undefined) return '';
    return (
      renderSingle('meshward_ratelimit_store_up', 'Whether the shared rate limit store (Redis) answers: 1 up, 0 unreachable.', 'gauge', s.state === 'up' ? 1 : 0) +
      renderSingle('meshward_ratelimit_store_outages_total', 'Times the shared rate limit store became unreachable.', 'counter', s.outages) +
      renderSingle(
        'meshward_ratelimit_store_unavailable_calls_total',
        'Calls answered by rateLimit.redis.failMode because the store did not answer in time.',
        'counter',
        s.unavailableCalls,
      )
    );
  };
}
