// The metrics of DESIGN §6 and their text at GET /metrics. Counting happens on the data path
// (metrics-observer.ts, the JWT hook, policy reloads); rendering runs per scrape (control
// path) and appends prom-client's process and Node.js metrics, which cost nothing per call.

import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  counterCell,
  histogramCell,
  MetricFamily,
  renderCounterFamily,
  renderHistogramFamily,
  renderSingle,
  header,
  labelText,
  type CounterCell,
  type HistogramCell,
} from './metric-family.js';
import { rateLimitRejections } from './ratelimit-metrics.js';

/** Upper bounds (seconds) of meshward_request_duration_seconds: 0.5 ms .. 10 s. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

export const REQUEST_LABELS = ['protocol', 'direction', 'method', 'code', 'decision'] as const;

/** A source of extra samples read at scrape time (certificate expiry, export queue, audit log). */
export type MetricsCollector = () => string;

export class MeshwardMetrics {
  /** One cell per label set holds both meshward_requests_total (its count) and the duration histogram. */
  readonly requests = new MetricFamily<HistogramCell>(
    'meshward_request_duration_seconds',
    'Time from the stream arriving to its close, in seconds.',
    'histogram',
    REQUEST_LABELS,
    histogramCell(DURATION_BUCKETS),
  );
  readonly decisions = new MetricFamily<CounterCell>(
    'meshward_policy_decisions_total',
    'Calls decided, by decision (allow, deny, audit_deny), reason and policy rule ("" when no rule decided).',
    'counter',
    ['decision', 'reason', 'rule'],
    counterCell,
  );
  readonly jwtValidations = new MetricFamily<CounterCell>(
    'meshward_jwt_validations_total',
    'Bearer tokens checked, by provider ("_unknown" when no provider could be chosen) and result ("ok" or the failure).',
    'counter',
    ['provider', 'result'],
    counterCell,
  );
  readonly policyReloads = new MetricFamily<CounterCell>(
    'meshward_policy_reloads_total',
    'Policy reload attempts, by result (ok, error, unchanged).',
    'counter',
    ['result'],
    counterCell,
  );
  readonly #collectors: MetricsCollector[] = [];
  readonly #process = new Registry();

  constructor(opts: { processMetrics?: boolean } = {}) {
    // Zero series for the results an alert watches, so `increase()` works from the start.
    this.policyReloads.get1('ok');
    this.policyReloads.get1('error');
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.#process });
  }

  /** Adds samples computed at scrape time; `collector` must not throw. */
  addCollector(collector: MetricsCollector): void {
    this.#collectors.push(collector);
  }

  /** The Prometheus text exposition (format 0.0.4). */
  async render(): Promise<string> {
    let out = this.renderOwn();
    out += withoutGaugesNamedTotal(await this.#process.metrics());
    return out;
  }

  /** meshward's own metrics only (synchronous; tests and the benchmark use it). */
  renderOwn(): string {
    let out = header('meshward_requests_total', 'Calls seen, by protocol, direction, method (_OTHER unless a policy names it), status code and decision.', 'counter');
    for (const [values, cell] of this.requests.cells()) out += `meshward_requests_total${labelText(REQUEST_LABELS, values)} ${cell.count}\n`;
    out += renderHistogramFamily(this.requests, DURATION_BUCKETS);
    out += renderCounterFamily(this.decisions);
    out += renderCounterFamily(rateLimitRejections);
    out += renderCounterFamily(this.jwtValidations);
    out += renderCounterFamily(this.policyReloads);
    for (const c of this.#collectors) out += c();
    return out;
  }
}

/**
 * prom-client's defaults include gauges named like counters (`nodejs_active_handles_total`
 * and friends: each the sum of a labelled gauge it also exports), which `promtool check
 * metrics` rejects. Such families are left out of the exposition.
 */
export function withoutGaugesNamedTotal(text: string): string {
  const drop = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+_total) gauge$/gm)) drop.add(m[1]!);
  if (drop.size === 0) return text;
  return text
    .split('\n')
    .filter((line) => {
      const name = line.startsWith('# ') ? line.split(' ', 3)[2] : line.split(/[{ ]/, 1)[0];
      return name === undefined || !drop.has(name);
    })
    .join('\n');
}

/**
 * `meshward_certificate_expiry_seconds`: the Unix time (seconds) at which the workload
 * certificate expires, read at each scrape so a rotated certificate shows at once. Alert on
 * `meshward_certificate_expiry_seconds - time() < 7 * 86400`.
 */
export function certificateExpiryCollector(notAfterMs: () => number | undefined): MetricsCollector {
  return () => {
    const ms = notAfterMs();
    if (ms === undefined || !Number.isFinite(ms)) return '';
    return renderSingle(
      'meshward_certificate_expiry_seconds',
      "Unix time (seconds) at which this workload's X.509-SVID expires (its notAfter).",
      'gauge',
      Math.floor(ms / 1000),
    );
  };
}
