// The codec's settings for connections to upstreams (the app, remote sidecars) — the
// defaults of sidecar/h2/options.ts: 1 MiB windows, 10 s handshake, 5 min idle — and the
// log lines when an upstream stops or starts answering again (once per change).

import { log } from '../core/log.js';
import { h2Options } from '../h2/options.js';

export const upstreamH2Options = h2Options();

export function logReachability(upstream: string): (reachable: boolean, detail: string) => void {
  return (reachable, detail) => {
    if (reachable) log.info('upstream reachable again', { upstream });
    else log.warn('upstream connection failed', { upstream, error: detail });
  };
}
