// Delivery to a generic webhook (DESIGN §10) in Alertmanager's webhook format (version "4"),
// so tools that read Alertmanager webhooks read meshward's: one POST when an alert fires and
// one when it resolves, several alerts per payload when they queue up. CONTROL path.

import type { AlertsConfig } from '../config/alerts-schema.js';
import type { Alert } from './alert.js';
import type { AlertChange } from './alert-book.js';
import { DeliveryQueue, type DeliveryOptions } from './delivery-queue.js';
import { HeadersSource, postJson } from './http-post.js';

type WebhookConfig = NonNullable<AlertsConfig['webhook']>;

/** Alertmanager writes this for "not resolved" in webhook payloads. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface WebhookItem {
  readonly alert: Alert;
  readonly status: AlertChange;
}

export interface WebhookAlert {
  readonly status: AlertChange;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

export interface WebhookPayload {
  readonly receiver: string;
  readonly status: AlertChange;
  readonly alerts: readonly WebhookAlert[];
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly commonLabels: Readonly<Record<string, string>>;
  readonly commonAnnotations: Readonly<Record<string, string>>;
  readonly externalURL: string;
  readonly version: '4';
  readonly groupKey: string;
  readonly truncatedAlerts: number;
}

export function webhookPayload(items: readonly WebhookItem[]): WebhookPayload {
  const alerts = items.map(({ alert, status }): WebhookAlert => ({
    status,
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: new Date(alert.startsAt).toISOString(),
    endsAt: status === 'resolved' && alert.endsAt !== undefined ? new Date(alert.endsAt).toISOString() : ZERO_TIME,
    generatorURL: '',
    fingerprint: alert.fingerprint,
  }));
  const commonLabels = common(alerts.map((a) => a.labels));
  return {
    receiver: 'meshward',
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    alerts,
    groupLabels: {},
    commonLabels,
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL: '',
    version: '4',
    // As Alertmanager writes it for a route grouped by the labels the alerts share.
    groupKey: `{}:{${Object.keys(commonLabels).sort().map((k) => `${k}=${JSON.stringify(commonLabels[k])}`).join(', ')}}`,
    truncatedAlerts: 0,
  };
}

/** The name/value pairs every map shares. */
function common(maps: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  const [first, ...rest] = maps;
  const out: Record<string, string> = {};
  if (first === undefined) return out;
  for (const [k, v] of Object.entries(first)) if (rest.every((m) => m[k] === v)) out[k] = v;
  return out;
}

export class WebhookReceiver {
  readonly name = 'webhook';
  readonly queue: DeliveryQueue<WebhookItem>;

  constructor(config: WebhookConfig, delivery: DeliveryOptions) {
    const headers = new HeadersSource(config.headersFile, 'alerts.webhook.headersFile');
    this.queue = new DeliveryQueue((batch) => postJson(config.url, webhookPayload(batch), headers, config.timeout), delivery);
  }

  changed(alert: Alert, status: AlertChange): void {
    this.queue.push({ alert, status });
  }
}
