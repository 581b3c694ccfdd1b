// What the catalog observed (DESIGN §8): per gRPC method and per GraphQL field, calls,
// refusals, first/last seen and callers (principal → count, first/last seen, peak calls/s).
// DATA path: `record` is a few Map lookups and counter increments, allocation-free once a
// name and a caller are known. Bounded: at most MAX_UNDECLARED_NAMES names that are not
// declared and MAX_CALLERS_PER_NAME callers per name; beyond that, `_OTHER`.
// Times are whole seconds since 2020-01-01 (small integers: no boxed number per call); the
// JSON forms (toJSON, restore) use milliseconds since the Unix epoch.

export const MAX_UNDECLARED_NAMES = 1000;
export const MAX_CALLERS_PER_NAME = 100;
export const OTHER = '_OTHER';

const BASE_SECONDS = 1_577_836_800; // 2020-01-01T00:00:00Z

/** Catalog seconds (what `record` takes) for a time in ms since the epoch. */
export function catalogSecond(ms: number): number {
  return Math.floor(ms / 1000) - BASE_SECONDS;
}

/** ms since the epoch for catalog seconds; 0 stays 0 (never). */
export function msOfSecond(second: number): number {
  return second === 0 ? 0 : (second + BASE_SECONDS) * 1000;
}

/** The clock `record` reads: the current catalog second, set by a timer (SecondClock) or by a test. */
export interface CatalogClock {
  readonly second: number;
}

/** Ticks `second` from a timer, so a call reads a field instead of calling Date.now(). */
export class SecondClock implements CatalogClock {
  second = catalogSecond(Date.now());
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    // 10 ticks a second: a call is counted in the right second within 0.1 s.
    this.timer ??= setInterval(() => (this.second = catalogSecond(Date.now())), 100);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** How a counted call ended at meshward's decision. */
export const Outcome = {
  /** Went to the app (allowed, or audit_deny). */
  FORWARDED: 0,
  /** Refused by meshward (policy, limits...). */
  REFUSED: 1,
  /** Refused as an undeclared method (12). */
  REFUSED_UNDECLARED: 2,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export class CallerStats {
  calls = 0;
  refused = 0;
  /** Catalog seconds; 0 = never. */
  firstSeen = 0;
  lastSeen = 0;
  /** Most forwarded calls in one wall-clock second. */
  peakPerSecond = 0;
  second = 0;
  inSecond = 0;
}

export class NameStats {
  calls = 0;
  refused = 0;
  refusedUndeclared = 0;
  firstSeen = 0;
  lastSeen = 0;
  readonly callers = new Map<string, CallerStats>();
}

/** One protocol's names (gRPC methods or GraphQL fields). */
export class ObservationTable {
  readonly names = new Map<string, NameStats>();
  /** Names taken while not declared: what the bound counts. */
  private undeclaredNames = 0;

  /**
   * Counts one call of `name` by `principal` at catalog second `now`. `declared` is consulted
   * only the first time a name is seen, to apply the bound on undeclared names.
   */
  record(name: string, principal: string, outcome: Outcome, now: number, declared: ReadonlyMap<string, unknown>): void {
    let stats = this.names.get(name);
    if (stats === undefined) stats = this.add(name, declared);
    stats.calls++;
    if (stats.firstSeen === 0) stats.firstSeen = now;
    stats.lastSeen = now;
    let caller = stats.callers.get(principal);
    if (caller === undefined) caller = addCaller(stats, principal);
    caller.calls++;
    if (caller.firstSeen === 0) caller.firstSeen = now;
    caller.lastSeen = now;
    if (outcome !== Outcome.FORWARDED) {
      stats.refused++;
      caller.refused++;
      if (outcome === Outcome.REFUSED_UNDECLARED) stats.refusedUndeclared++;
      return;
    }
    if (caller.second !== now) {
      caller.second = now;
      caller.inSecond = 0;
    }
    if (++caller.inSecond > caller.peakPerSecond) caller.peakPerSecond = caller.inSecond;
  }

  private add(name: string, declared: ReadonlyMap<string, unknown>): NameStats {
    let key = name;
    if (!declared.has(name)) {
      if (this.undeclaredNames >= MAX_UNDECLARED_NAMES) key = OTHER;
      else this.undeclaredNames++;
    }
    let stats = this.names.get(key);
    if (stats === undefined) {
      stats = new NameStats();
      this.names.set(key, stats);
    }
    return stats;
  }

  /** A plain-object copy (state file, workers): times stay ms since the epoch. */
  toJSON(): TableSnapshot {
    const out: TableSnapshot = {};
    for (const [name, s] of this.names) {
      const callers: TableSnapshot[string]['callers'] = {};
      for (const [p, c] of s.callers) callers[p] = { calls: c.calls, refused: c.refused, firstSeen: msOfSecond(c.firstSeen), lastSeen: msOfSecond(c.lastSeen), peakPerSecond: c.peakPerSecond };
      out[name] = { calls: s.calls, refused: s.refused, refusedUndeclared: s.refusedUndeclared, firstSeen: msOfSecond(s.firstSeen), lastSeen: msOfSecond(s.lastSeen), callers };
    }
    return out;
  }

  /** Adds a snapshot's counts (a restart restoring its state file), within the same bounds. */
  restore(snapshot: TableSnapshot, declared: ReadonlyMap<string, unknown>): void {
    for (const [name, s] of Object.entries(snapshot)) {
      if (!isRecord(s)) continue;
      const stats = this.names.get(name) ?? (name === OTHER ? this.other() : this.add(name, declared));
      stats.calls += count(s.calls);
      stats.refused += count(s.refused);
      stats.refusedUndeclared += count(s.refusedUndeclared);
      stats.firstSeen = earliest(stats.firstSeen, seconds(s.firstSeen));
      stats.lastSeen = Math.max(stats.lastSeen, seconds(s.lastSeen));
      if (!isRecord(s.callers)) continue;
      for (const [principal, c] of Object.entries(s.callers)) {
        if (!isRecord(c)) continue;
        const caller = stats.callers.get(principal) ?? addCaller(stats, principal);
        caller.calls += count(c.calls);
        caller.refused += count(c.refused);
        caller.firstSeen = earliest(caller.firstSeen, seconds(c.firstSeen));
        caller.lastSeen = Math.max(caller.lastSeen, seconds(c.lastSeen));
        caller.peakPerSecond = Math.max(caller.peakPerSecond, count(c.peakPerSecond));
      }
    }
  }

  private other(): NameStats {
    let stats = this.names.get(OTHER);
    if (stats === undefined) {
      stats = new NameStats();
      this.names.set(OTHER, stats);
    }
    return stats;
  }
}

function addCaller(stats: NameStats, principal: string): CallerStats {
  const key = stats.callers.size >= MAX_CALLERS_PER_NAME ? OTHER : principal;
  let caller = stats.callers.get(key);
  if (caller === undefined) {
    caller = new CallerStats();
    stats.callers.set(key, caller);
  }
  return caller;
}

export type TableSnapshot = Record<
  string,
  {
    calls: number;
    refused: number;
    refusedUndeclared: number;
    firstSeen: number;
    lastSeen: number;
    callers: Record<string, { calls: number; refused: number; firstSeen: number; lastSeen: number; peakPerSecond: number }>;
  }
>;

/** Both tables and when observation began. */
export class Observations {
  readonly grpc = new ObservationTable();
  readonly graphql = new ObservationTable();
  /** ms since the epoch: process start, or the first start recorded in the state file. */
  since = Date.now();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

function seconds(ms: unknown): number {
  const v = count(ms);
  return v === 0 ? 0 : Math.max(1, catalogSecond(v));
}

function earliest(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}
