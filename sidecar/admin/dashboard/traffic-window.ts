// The live per-method table of the dashboard and of `meshward top` (DESIGN §12): tap events
// of the last minute, summed per method — calls/s, allowed / denied / limited, p50 / p99 ms,
// top callers. Runs in the browser (served by the admin listener as a module) and in the
// CLI, so it imports nothing. Bounded: the newest `maxEvents` events are kept.

/** The tap event fields the table reads (tap/tap-event.ts). */
export interface TrafficEvent {
  readonly method: string;
  readonly principal: string | null;
  readonly decision: 'allow' | 'deny' | 'audit_deny';
  readonly limited: boolean;
  readonly durationMs: number;
}

export interface MethodRow {
  readonly method: string;
  readonly calls: number;
  readonly callsPerSecond: number;
  /** Forwarded calls, including audit_deny (an audit-mode rule or limit would have refused). */
  readonly allowed: number;
  /** Refused by anything but a limit (policy, authentication, bad requests...). */
  readonly denied: number;
  /** Refused by a limit (rate, concurrency, message size, GraphQL limits). */
  readonly limited: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Most frequent callers first (at most 3); `null` = unauthenticated. */
  readonly topCallers: ReadonlyArray<{ readonly principal: string | null; readonly calls: number }>;
}

export interface TrafficWindowOptions {
  /** How far back the table looks (ms); default 60 s. */
  readonly windowMs?: number;
  /** Events kept at most; at higher rates the window shortens to the newest ones. Default 20,000. */
  readonly maxEvents?: number;
}

const KIND_ALLOWED = 0;
const KIND_DENIED = 1;
const KIND_LIMITED = 2;

/** A ring of the newest events, as parallel arrays; each `rows()` sums the window afresh. */
export class TrafficWindow {
  readonly windowMs: number;
  readonly maxEvents: number;
  readonly #at: Float64Array;
  readonly #kind: Uint8Array;
  readonly #duration: Float64Array;
  readonly #method: string[];
  readonly #principal: (string | null)[];
  #next = 0;
  #size = 0;
  #total = 0;
  readonly #startedAt: number;

  constructor(opts: TrafficWindowOptions = {}, nowMs: number = Date.now()) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.maxEvents = Math.max(1, opts.maxEvents ?? 20_000);
    this.#at = new Float64Array(this.maxEvents);
    this.#kind = new Uint8Array(this.maxEvents);
    this.#duration = new Float64Array(this.maxEvents);
    this.#method = new Array<string>(this.maxEvents).fill('');
    this.#principal = new Array<string | null>(this.maxEvents).fill(null);
    this.#startedAt = nowMs;
  }

  /** `nowMs`: when the event arrived here (the table's clock, not the sidecar's). */
  add(e: TrafficEvent, nowMs: number = Date.now()): void {
    const i = this.#next;
    this.#at[i] = nowMs;
    this.#kind[i] = e.decision !== 'deny' ? KIND_ALLOWED : e.limited ? KIND_LIMITED : KIND_DENIED;
    this.#duration[i] = e.durationMs;
    this.#method[i] = e.method;
    this.#principal[i] = e.principal;
    this.#next = (i + 1) % this.maxEvents;
    if (this.#size < this.maxEvents) this.#size++;
    this.#total++;
  }

  /** Events added since the start. */
  get total(): number {
    return this.#total;
  }

  /** The window the rates are over (ms): shorter at the start and when the ring is full. */
  spanMs(nowMs: number = Date.now()): number {
    let from = Math.max(nowMs - this.windowMs, this.#startedAt);
    if (this.#size === this.maxEvents) from = Math.max(from, this.#at[this.#next]!);
    return Math.max(1000, nowMs - from);
  }

  /** One row per method seen in the window, busiest first. */
  rows(nowMs: number = Date.now()): MethodRow[] {
    const since = nowMs - this.windowMs;
    const acc = new Map<string, { kinds: [number, number, number]; durations: number[]; callers: Map<string | null, number> }>();
    const oldest = (this.#next - this.#size + this.maxEvents) % this.maxEvents;
    for (let n = 0; n < this.#size; n++) {
      const i = (oldest + n) % this.maxEvents;
      if (this.#at[i]! < since) continue;
      const method = this.#method[i]!;
      let a = acc.get(method);
      if (a === undefined) {
        a = { kinds: [0, 0, 0], durations: [], callers: new Map() };
        acc.set(method, a);
      }
      a.kinds[this.#kind[i]!]!++;
      a.durations.push(this.#duration[i]!);
      const p = this.#principal[i]!;
      a.callers.set(p, (a.callers.get(p) ?? 0) + 1);
    }
    const seconds = this.spanMs(nowMs) / 1000;
    const rows: MethodRow[] = [];
    for (const [method, a] of acc) {
      const calls = a.durations.length;
      a.durations.sort((x, y) => x - y);
      rows.push({
        method,
        calls,
        callsPerSecond: calls / seconds,
        allowed: a.kinds[KIND_ALLOWED],
        denied: a.kinds[KIND_DENIED],
        limited: a.kinds[KIND_LIMITED],
        p50Ms: quantile(a.durations, 0.5),
        p99Ms: quantile(a.durations, 0.99),
        topCallers: [...a.callers]
          .sort((x, y) => y[1] - x[1] || String(x[0]).localeCompare(String(y[0])))
          .slice(0, 3)
          .map(([principal, n]) => ({ principal, calls: n })),
      });
    }
    return rows.sort((x, y) => y.calls - x.calls || x.method.localeCompare(y.method));
  }
}

/** Nearest-rank quantile of sorted values (0 for none). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** `spiffe://cluster.local/ns/web/sa/frontend` → `ns/web/sa/frontend` (the trust domain is the same for all). */
export function shortPrincipal(principal: string | null): string {
  if (principal === null) return '(unauthenticated)';
  const m = /^spiffe:\/\/[^/]+\/(.*)$/.exec(principal);
  return m === null ? principal : m[1]!;
}
