// Alerts and anomaly detection, assembled from the config (CONTROL path, DESIGN §10): the pair
// table and its call observer (the only data-path part), the book of active alerts, the
// evaluator on its timer, the receivers (Alertmanager API v2, webhook) with their queues, the
// metrics and the `GET /alerts` view.

import type { DeclarationsSource } from '../catalog/declarations-model.js';
import type { AlertsConfig } from '../config/alerts-schema.js';
import { log } from '../core/log.js';
import type { StoreStatus } from '../ratelimit/redis-store.js';
import type { CallObserver } from '../pipeline/observers.js';
import { MethodLabels } from '../telemetry/method-label.js';
import type { Alert } from './alert.js';
import { AlertBook } from './alert-book.js';
import { AlertmanagerReceiver } from './alertmanager-receiver.js';
import { ApiUseTable } from './api-use-table.js';
import { alertsObserver } from './alerts-observer.js';
import { alertsCollector } from './alerts-metrics.js';
import type { DeliveryOptions, DeliveryQueue } from './delivery-queue.js';
import { Evaluator } from './evaluator.js';
import type { CertificateFacts } from './certificate-expiry-detector.js';
import { PairTable } from './pair-table.js';
import { WebhookReceiver } from './webhook-receiver.js';

export interface AlertsDeps {
  readonly service: string;
  /** `rateLimit.redis.failMode`: how a limit store that is down is answered (the limit-store alert says). */
  readonly failMode: 'open' | 'closed';
  readonly certificate: () => CertificateFacts;
  readonly limitStore: () => StoreStatus | undefined;
  /** The API catalog's declarations (catalog.protos), when configured: shadow and deprecated API alerts. */
  readonly declarations?: DeclarationsSource | undefined;
  readonly now?: () => number;
}

export interface Alerts {
  /** Goes in the inbound observers list; undefined when `alerts.enabled` is false. */
  readonly observer: CallObserver | undefined;
  /** A /metrics collector. */
  readonly metrics: () => string;
  /** `GET /alerts`: the active alerts and the receivers' state. */
  view(): AlertsView;
  /** Runs the detectors once now (the timer does this every evaluateEvery). */
  evaluate(): void;
  /** Stops the timer; gives queued alerts up to `timeoutMs` to go out. */
  close(timeoutMs?: number): Promise<void>;
}

export interface AlertView {
  readonly fingerprint: string;
  readonly status: 'firing';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  /** Event alerts: when they resolve by themselves; null for alerts that last while their condition does. */
  readonly endsAt: string | null;
}

export interface AlertsView {
  readonly enabled: boolean;
  readonly alerts: readonly AlertView[];
  readonly receivers: ReadonlyArray<{ readonly name: string; readonly queued: number; readonly ok: number; readonly failed: number; readonly dropped: number; readonly lastError: string | null }>;
  readonly pairs: number;
}

interface Receiver {
  readonly name: string;
  readonly queue: DeliveryQueue<unknown>;
}

export function createAlerts(c: AlertsConfig, deps: AlertsDeps): Alerts {
  const now = deps.now ?? Date.now;
  const started = now();
  const book = new AlertBook({
    service: c.service ?? deps.service,
    extraLabels: c.labels,
    maxActive: c.maxActive,
    eventForMs: c.eventFor,
    // As Prometheus: resolved alerts are repeated to Alertmanager for 15 minutes.
    keepResolvedMs: 15 * 60_000,
  });
  const table = new PairTable(c.maxPairs, started + c.learnFor, 1000, now);
  const delivery: DeliveryOptions = {
    capacity: c.delivery.queueSize,
    batch: c.delivery.batch,
    retries: c.delivery.retries,
    backoffMs: c.delivery.backoff,
    maxBackoffMs: c.delivery.maxBackoff,
  };
  const alertmanager = c.alertmanager === undefined ? undefined : new AlertmanagerReceiver(c.alertmanager, delivery, started, now);
  const webhook = c.webhook === undefined ? undefined : new WebhookReceiver(c.webhook, delivery);
  const receivers: Receiver[] = [];
  if (alertmanager !== undefined) receivers.push(alertmanager as Receiver);
  if (webhook !== undefined) receivers.push(webhook as Receiver);
  for (const r of receivers) {
    r.queue.onHealthChange = (healthy, error) =>
      healthy ? log.info('alerts: receiver delivers again', { receiver: r.name }) : log.warn('alerts: delivery failed; retrying', { receiver: r.name, error });
  }
  book.onChange((alert, change) => {
    alertmanager?.changed(alert);
    webhook?.changed(alert, change);
    log.info(change === 'firing' ? 'alert firing' : 'alert resolved', { fingerprint: alert.fingerprint, ...alert.labels });
  });

  const apiUses = deps.declarations === undefined ? undefined : new ApiUseTable(1000, now);
  const evaluator = new Evaluator(
    c,
    table,
    book,
    { certificate: deps.certificate, limitStore: deps.limitStore, failMode: deps.failMode, apiUses, declarations: deps.declarations },
    started,
  );
  const evaluate = (): void => {
    const t = now();
    try {
      evaluator.tick(t);
      alertmanager?.tick(t, book);
    } catch (err) {
      log.error('alerts: evaluation failed', { error: (err as Error).message });
    }
  };
  const timer = c.enabled ? setInterval(evaluate, c.evaluateEvery) : undefined;
  timer?.unref();
  const metrics = alertsCollector({
    receivers: () => receivers.map((r) => ({ name: r.name, stats: r.queue.stats })),
    book,
    // Shadow / deprecated uses not tracked (more than 1,000) are lost events too.
    pairs: () => ({ ...table.stats, eventsDropped: table.stats.eventsDropped + (apiUses?.stats.dropped ?? 0) }),
    service: c.service ?? deps.service,
    certificateNotBefore: () => deps.certificate().notBefore,
  });

  return {
    observer: c.enabled
      ? alertsObserver(table, new MethodLabels(), deps.declarations === undefined || apiUses === undefined ? undefined : { declarations: deps.declarations, uses: apiUses })
      : undefined,
    metrics,
    evaluate,
    view: () => ({
      enabled: c.enabled,
      alerts: book.active().map(alertView),
      receivers: receivers.map((r) => {
        const s = r.queue.stats;
        return { name: r.name, queued: s.queued, ok: s.ok, failed: s.failed, dropped: s.dropped, lastError: s.lastError ?? null };
      }),
      pairs: table.stats.pairs,
    }),
    async close(timeoutMs = 1000) {
      clearInterval(timer);
      await Promise.all(receivers.map((r) => r.queue.close(timeoutMs)));
    },
  };
}

function alertView(a: Alert): AlertView {
  return {
    fingerprint: a.fingerprint,
    status: 'firing',
    labels: a.labels,
    annotations: a.annotations,
    startsAt: new Date(a.startsAt).toISOString(),
    endsAt: a.expiresAt === undefined ? null : new Date(a.expiresAt).toISOString(),
  };
}
