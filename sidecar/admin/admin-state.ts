// What the admin endpoints read (control path): filled by the process assembly (app/sidecar.ts for a
// single process, app/primary.ts for the primary of worker processes).

import type { TapFilter } from '../tap/tap-filter.js';
import type { TapSubscription } from '../tap/tap-hub.js';

export interface AdminState {
  /** Reasons the sidecar is not ready; empty when it is. */
  notReadyReasons(): readonly string[];
  /** JSON-serializable views, computed on request (a primary asks a worker: app/primary.ts). */
  config(): unknown;
  policies(): unknown;
  /** `/policies?rules=1`: every rule of the current snapshot. */
  policyRules?(): unknown;
  /** Prometheus text for /metrics (format 0.0.4). */
  metrics?(): Promise<string>;
  /** The dashboard's summary: identity, certificate expiry, mTLS mode, policies (admin/overview.ts). */
  overview?(): unknown;
  /** The last refused calls, newest first (tap events). */
  refusals?(): unknown;
  /** Live calls for GET /tap and the dashboard. */
  readonly tap?: TapSource;
  /** More JSON views by path (the primary's /workers). */
  readonly views?: Readonly<Record<string, () => unknown>>;
}

/** Where /tap subscribes: the tap hub of this process, or the primary's hub fed by its workers. */
export interface TapSource {
  /** undefined when too many subscribers are connected. */
  subscribe(filter: TapFilter, wake: () => void, opts?: { relay?: boolean }): TapSubscription | undefined;
  /** Resolves once calls from every serving process reach new subscribers (a primary: its workers' relays are on). */
  ready?(): Promise<void>;
  readonly maxSubscribers: number;
}
