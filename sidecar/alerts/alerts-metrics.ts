// The alerts' own metrics, rendered per scrape (CONTROL path): deliveries by receiver and
// result, queue lengths, active alerts by name, the pair table's size and evictions.

import { ALERT_NAMES } from '../config/alerts-schema.js';
import { header, labelText } from '../telemetry/metric-family.js';
import type { AlertBook } from './alert-book.js';
import type { DeliveryStats } from './delivery-queue.js';
import type { PairTableStats } from './pair-table.js';

export interface AlertsMetricsSources {
  readonly receivers: () => ReadonlyArray<{ readonly name: string; readonly stats: DeliveryStats }>;
  readonly book: AlertBook;
  readonly pairs: () => PairTableStats;
  /** The `service` label of the alerts, exported for the Prometheus rules' joins. */
  readonly service: string;
  /** The workload certificate's notBefore (ms), for the rules' lifetime share. */
  readonly certificateNotBefore: () => number;
}

const RESULTS = ['ok', 'retried', 'failed', 'dropped'] as const;

export function alertsCollector(src: AlertsMetricsSources): () => string {
  return () => {
    const receivers = src.receivers();
    let out = header(
      'meshward_alerts_sent_total',
      'Alerts by receiver and result: ok (accepted), retried (an attempt failed, retried), failed (given up after the retries), dropped (queue full).',
      'counter',
    );
    for (const r of receivers) for (const result of RESULTS) out += `meshward_alerts_sent_total${labelText(['receiver', 'result'], [r.name, result])} ${r.stats[result]}\n`;
    out += header('meshward_alerts_queue_length', 'Alerts waiting for delivery, by receiver.', 'gauge');
    for (const r of receivers) out += `meshward_alerts_queue_length${labelText(['receiver'], [r.name])} ${r.stats.queued}\n`;

    const active = new Map<string, number>(ALERT_NAMES.map((n) => [n, 0]));
    for (const a of src.book.active()) active.set(a.labels.alertname!, (active.get(a.labels.alertname!) ?? 0) + 1);
    out += header('meshward_alerts_active', 'Active alerts, by alertname.', 'gauge');
    for (const [name, n] of active) out += `meshward_alerts_active${labelText(['alertname'], [name])} ${n}\n`;
    const { fired, suppressed } = src.book.stats;
    out += header('meshward_alerts_fired_total', 'Alerts that started firing, by alertname.', 'counter');
    for (const name of ALERT_NAMES) out += `meshward_alerts_fired_total${labelText(['alertname'], [name])} ${fired.get(name) ?? 0}\n`;
    const pairs = src.pairs();
    out += single('meshward_alerts_suppressed_total', 'Alerts not raised because maxActive alerts were active.', 'counter', suppressed);
    out += single('meshward_alerts_pairs', 'Caller x method pairs the detectors track.', 'gauge', pairs.pairs);
    out += single('meshward_alerts_pair_evictions_total', 'Pairs evicted (least recently used) to stay within alerts.maxPairs.', 'counter', pairs.evictions);
    out += single('meshward_alerts_events_dropped_total', 'New-caller and shadow/deprecated API events lost (more than 1,000 between two evaluations, or 1,000 method x caller uses tracked).', 'counter', pairs.eventsDropped);
    // For charts/meshward/rules: `service` joined onto every series of this sidecar, and the
    // certificate's start so a rule can tell a one-hour SVID from a one-year certificate.
    out += header('meshward_service_info', 'The service this sidecar serves (alerts.service, else telemetry.serviceName); always 1.', 'gauge');
    out += `meshward_service_info${labelText(['service'], [src.service])} 1\n`;
    out += single('meshward_certificate_not_before_seconds', "Unix time (seconds) from which this workload's X.509-SVID is valid (its notBefore).", 'gauge', Math.floor(src.certificateNotBefore() / 1000));
    return out;
  };
}

function single(name: string, help: string, type: 'counter' | 'gauge', value: number): string {
  return `${header(name, help, type)}${name} ${value}\n`;
}
