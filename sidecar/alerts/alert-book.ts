// The active alerts (DESIGN §10), deduplicated by label set: a detector's finding fires an
// alert once and later findings only refresh its annotations; a state alert resolves when its
// detector stops finding it, an event alert when `eventFor` has passed. Each change (firing,
// resolved) goes to the receivers. Bounded: `maxActive` alerts; resolved ones are kept a while
// for Alertmanager's resends. CONTROL path (evaluation timer).

import { alertAnnotations, alertLabels, fingerprint, type Alert, type AlertDraft, type AlertName } from './alert.js';

export type AlertChange = 'firing' | 'resolved';
export type ChangeListener = (alert: Alert, change: AlertChange) => void;

export interface AlertBookOptions {
  readonly service: string;
  readonly extraLabels: Readonly<Record<string, string>>;
  readonly maxActive: number;
  readonly eventForMs: number;
  /** How long a resolved alert stays in `recentlyResolved` (Alertmanager resends). */
  readonly keepResolvedMs: number;
}

export class AlertBook {
  readonly #active = new Map<string, Alert>();
  /** Resolved alerts, oldest first, for resends; bounded like the active ones. */
  #resolved: Alert[] = [];
  readonly #listeners: ChangeListener[] = [];
  readonly #fired = new Map<AlertName, number>();
  #suppressed = 0;

  constructor(private readonly opts: AlertBookOptions) {}

  onChange(listener: ChangeListener): void {
    this.#listeners.push(listener);
  }

  /**
   * A state detector's findings of this evaluation: each fires (or refreshes) its alert; active
   * alerts of `alertname` not found again resolve.
   */
  sync(alertname: AlertName, drafts: readonly AlertDraft[], now: number): void {
    const seen = new Set<string>();
    for (const d of drafts) {
      const a = this.#raise(d, now, undefined);
      if (a !== undefined) seen.add(a.fingerprint);
    }
    for (const a of [...this.#active.values()]) {
      if (a.labels.alertname === alertname && a.expiresAt === undefined && !seen.has(a.fingerprint)) this.#resolve(a, now);
    }
  }

  /** An event alert: active until `eventFor` after it first fired (a repeat does not extend it). */
  event(draft: AlertDraft, now: number): void {
    this.#raise(draft, now, now + this.opts.eventForMs);
  }

  /** Resolves event alerts past their time; drops resolved alerts kept long enough. */
  expire(now: number): void {
    for (const a of [...this.#active.values()]) if (a.expiresAt !== undefined && a.expiresAt <= now) this.#resolve(a, a.expiresAt);
    const keepFrom = now - this.opts.keepResolvedMs;
    const i = this.#resolved.findIndex((a) => a.endsAt! >= keepFrom);
    this.#resolved = i < 0 ? [] : this.#resolved.slice(i);
  }

  active(): Alert[] {
    return [...this.#active.values()];
  }

  recentlyResolved(): readonly Alert[] {
    return this.#resolved;
  }

  get stats(): { readonly fired: ReadonlyMap<AlertName, number>; readonly suppressed: number } {
    return { fired: this.#fired, suppressed: this.#suppressed };
  }

  #raise(draft: AlertDraft, now: number, expiresAt: number | undefined): Alert | undefined {
    const labels = alertLabels(draft, this.opts.service, this.opts.extraLabels);
    const fp = fingerprint(labels);
    const existing = this.#active.get(fp);
    if (existing !== undefined) {
      existing.annotations = alertAnnotations(draft);
      return existing;
    }
    if (this.#active.size >= this.opts.maxActive) {
      this.#suppressed++;
      return undefined;
    }
    const alert: Alert = { fingerprint: fp, labels, annotations: alertAnnotations(draft), startsAt: now, expiresAt, endsAt: undefined };
    this.#active.set(fp, alert);
    this.#fired.set(draft.alertname, (this.#fired.get(draft.alertname) ?? 0) + 1);
    for (const l of this.#listeners) l(alert, 'firing');
    return alert;
  }

  #resolve(alert: Alert, at: number): void {
    this.#active.delete(alert.fingerprint);
    alert.endsAt = Math.max(at, alert.startsAt);
    this.#resolved.push(alert);
    if (this.#resolved.length > this.opts.maxActive) this.#resolved.shift();
    for (const l of this.#listeners) l(alert, 'resolved');
  }
}
