// Runs the detectors (DESIGN §10) on a timer, off the request path: every tick it raises new
// callers and shadow / deprecated API use, checks the certificate and the limit store, and expires event alerts; at the end of
// each window it judges every caller × method pair against its baseline, folds the window
// into the baseline and resets the counters. CONTROL path; the clock is passed in (tests).

import type { DeclarationsSource } from '../catalog/declarations-model.js';
import type { AlertsConfig } from '../config/alerts-schema.js';
import type { StoreStatus } from '../ratelimit/redis-store.js';
import type { AlertDraft, AlertName } from './alert.js';
import type { AlertBook } from './alert-book.js';
import { apiUseAlert } from './api-catalog-detectors.js';
import type { ApiUseTable } from './api-use-table.js';
import { ewmaWeight, hasBaseline, updateBaseline } from './baseline.js';
import { certificateExpiry, type CertificateFacts } from './certificate-expiry-detector.js';
import { denySpike } from './deny-spike-detector.js';
import { JwtFailureTally, jwtFailures } from './jwt-failures-detector.js';
import { limitStoreDown } from './limit-store-detector.js';
import { newCaller } from './new-caller-detector.js';
import type { PairTable } from './pair-table.js';
import { rateSpike } from './rate-spike-detector.js';

export type { AlertsConfig } from '../config/alerts-schema.js';

export interface EvaluatorSources {
  /** This workload's current certificate. */
  certificate(): CertificateFacts;
  /** The shared limit store's health; undefined without one. */
  limitStore(): StoreStatus | undefined;
  readonly failMode: 'open' | 'closed';
  /** Calls of undeclared / deprecated methods, when catalog.protos is set. */
  readonly apiUses?: ApiUseTable | undefined;
  readonly declarations?: DeclarationsSource | undefined;
}

export class Evaluator {
  readonly #on: (name: AlertName) => boolean;
  #windowStart: number;
  readonly #weight: number;

  constructor(
    private readonly config: AlertsConfig,
    private readonly table: PairTable,
    private readonly book: AlertBook,
    private readonly sources: EvaluatorSources,
    readonly startedAt: number,
  ) {
    const disabled = new Set<string>(config.disabled);
    this.#on = (name) => !disabled.has(name);
    this.#windowStart = startedAt;
    this.#weight = ewmaWeight(config.window, config.baseline);
  }

  tick(now: number): void {
    const fresh = this.table.takeFresh();
    if (fresh.length > 0 && this.#on('MeshwardNewCaller')) {
      const callers = this.#callersByMethod();
      for (const pair of fresh) this.book.event(newCaller(pair, this.config.learnFor, (callers.get(pair.method) ?? 1) - 1), now);
    }
    for (const use of this.sources.apiUses?.takeFresh() ?? []) {
      if (this.#on(use.kind === 'shadow' ? 'MeshwardShadowApi' : 'MeshwardDeprecatedApi')) {
        this.book.event(apiUseAlert(use, this.sources.declarations?.current.version ?? 'none'), now);
      }
    }
    this.#state('MeshwardCertificateExpiry', certificateExpiry(this.sources.certificate(), this.config.certificateExpiry.lifetimeLeft, now), now);
    this.#state('MeshwardLimitStoreDown', limitStoreDown(this.sources.limitStore(), this.sources.failMode), now);
    if (now - this.#windowStart >= this.config.window) {
      this.#closeWindow(now, now - this.#windowStart);
      this.#windowStart = now;
    }
    this.book.expire(now);
  }

  #state(name: AlertName, draft: AlertDraft | undefined, now: number): void {
    this.book.sync(name, this.#on(name) && draft !== undefined ? [draft] : [], now);
  }

  #closeWindow(now: number, windowMs: number): void {
    const c = this.config;
    const denies: AlertDraft[] = [];
    const rates: AlertDraft[] = [];
    const jwt = new Map<string, JwtFailureTally>();
    const denyOn = this.#on('MeshwardDenySpike');
    const rateOn = this.#on('MeshwardRateSpike');
    const jwtOn = this.#on('MeshwardJwtFailures');
    for (const pair of this.table.pairs()) {
      const baseline = hasBaseline(pair, now, c.learnFor);
      if (denyOn) {
        const d = denySpike(pair, c.denySpike, windowMs, baseline);
        if (d !== undefined) denies.push(d);
      }
      if (rateOn) {
        const r = rateSpike(pair, c.rateSpike, windowMs, baseline);
        if (r !== undefined) rates.push(r);
      }
      if (jwtOn && pair.jwtBadSignature + pair.jwtUnknownKey + pair.jwtBadAlgorithm > 0) {
        let t = jwt.get(pair.principal);
        if (t === undefined) jwt.set(pair.principal, (t = new JwtFailureTally(pair.principal)));
        t.add(pair);
      }
      updateBaseline(pair, this.#weight, Math.min(c.denySpike.factor, c.rateSpike.factor));
      pair.windows++;
      pair.calls = 0;
      pair.denies = 0;
      pair.jwtBadSignature = 0;
      pair.jwtUnknownKey = 0;
      pair.jwtBadAlgorithm = 0;
    }
    const jwtDrafts: AlertDraft[] = [];
    for (const t of jwt.values()) {
      const d = jwtFailures(t, c.jwtFailures, windowMs);
      if (d !== undefined) jwtDrafts.push(d);
    }
    this.book.sync('MeshwardDenySpike', denies, now);
    this.book.sync('MeshwardRateSpike', rates, now);
    this.book.sync('MeshwardJwtFailures', jwtDrafts, now);
  }

  /** Principals known per method (a scan, only on ticks with new callers: rare after learning). */
  #callersByMethod(): Map<string, number> {
    const n = new Map<string, number>();
    for (const p of this.table.pairs()) n.set(p.method, (n.get(p.method) ?? 0) + 1);
    return n;
  }
}
