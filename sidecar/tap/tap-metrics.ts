// The tap's own metrics (control path, per scrape): subscribers now, events dropped so far.

import { renderSingle } from '../telemetry/metric-family.js';
import type { TapStats } from './tap-hub.js';

export function renderTapMetrics(s: TapStats): string {
  return (
    renderSingle('meshward_tap_subscribers', 'Clients following /tap (meshward tap, top, the dashboard).', 'gauge', s.subscribers) +
    renderSingle('meshward_tap_events_dropped_total', 'Tap events dropped because a subscriber fell behind.', 'counter', s.dropped)
  );
}
