// Delivery to Alertmanager's API v2 (DESIGN §10): `POST <url>/api/v2/alerts` with postable
// alerts (labels, annotations, startsAt, endsAt). As Prometheus does, an active alert is sent
// again every `resendEvery` with endsAt = now + 4 × resendEvery, so Alertmanager resolves it by
// itself if meshward goes away; a resolved one carries its endsAt and is repeated on the next
// resends too (an Alertmanager restarted in between still learns it). CONTROL path.

import type { AlertsConfig } from '../config/alerts-schema.js';
import type { Alert } from './alert.js';
import type { AlertBook } from './alert-book.js';
import { DeliveryQueue, type DeliveryOptions } from './delivery-queue.js';
import { HeadersSource, postJson } from './http-post.js';

type AlertmanagerConfig = NonNullable<AlertsConfig['alertmanager']>;

/** Alertmanager's `postableAlert`. */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
}

export function postableAlert(a: Alert, now: number, resendEveryMs: number): PostableAlert {
  const endsAt = a.endsAt ?? a.expiresAt ?? now + 4 * resendEveryMs;
  return { labels: a.labels, annotations: a.annotations, startsAt: new Date(a.startsAt).toISOString(), endsAt: new Date(endsAt).toISOString() };
}

export class AlertmanagerReceiver {
  readonly name = 'alertmanager';
  readonly queue: DeliveryQueue<Alert>;
  readonly endpoint: string;
  #lastResend: number;
  /** The resend in progress: alerts still to queue. */
  #resend: Alert[] = [];
  #resendNext = 0;

  constructor(
    private readonly config: AlertmanagerConfig,
    delivery: DeliveryOptions,
    now: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.endpoint = `${config.url.replace(/\/+$/, '')}/api/v2/alerts`;
    const headers = new HeadersSource(config.headersFile, 'alerts.alertmanager.headersFile');
    // Alerts are queued by reference and formatted when sent: a retry carries the newest state.
    const send = (batch: readonly Alert[]): Promise<void> => {
      const t = this.clock();
      return postJson(this.endpoint, batch.map((a) => postableAlert(a, t, config.resendEvery)), headers, config.timeout);
    };
    this.queue = new DeliveryQueue(send, { ...delivery, coalesce: true });
    this.#lastResend = now;
  }

  changed(alert: Alert): void {
    this.queue.push(alert);
  }

  /**
   * Every `resendEvery`: the active alerts and the recently resolved ones again. A resend takes
   * only free room in the queue (the rest follows on later ticks as it drains), so it never
   * pushes out a waiting change, and an outage does not turn each resend into counted drops.
   */
  tick(now: number, book: AlertBook): void {
    if (this.#resendNext >= this.#resend.length && now - this.#lastResend >= this.config.resendEvery) {
      this.#lastResend = now;
      this.#resend = [...book.active(), ...book.recentlyResolved()];
      this.#resendNext = 0;
    }
    while (this.#resendNext < this.#resend.length && this.queue.room > 0) this.queue.push(this.#resend[this.#resendNext++]!);
    if (this.#resendNext >= this.#resend.length) this.#resend = [];
  }
}
