// Bandwidth limits of the call's rule (data path): never refuses; it gives the call the
// pacers of the caller's key, one per direction, which the relay of the body honours
// (core/body-hooks.ts). Audit-mode bandwidth is not applied at all (ratelimit/limiter-registry.ts).

import type { FilterResult } from '../core/filter.js';
import type { Call } from '../pipeline/call.js';
import type { CallFilter } from '../pipeline/pipeline.js';

export function bandwidthFilter(): CallFilter {
  return {
    name: 'bandwidth',
    apply(call: Call): FilterResult {
      const rule = call.decision?.rules;
      if (rule === undefined || rule.bandwidth.length === 0) return undefined;
      const handles = call.snapshot.limits.forRule(rule).bandwidth;
      const principal = call.peer.authenticated ? call.peer.spiffeId : undefined;
      for (const { entry } of handles) {
        entry.used = true;
        const pacers = entry.limiter.pacers(entry.read(principal, call.jwt?.payload));
        (call.requestPacers ??= []).push(pacers.request);
        (call.responsePacers ??= []).push(pacers.response);
      }
      return undefined;
    },
  };
}
