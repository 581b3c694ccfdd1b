// Per caller × method counters the detectors read (DESIGN §10). DATA path: `record` runs once
// per call — for a known pair two Map lookups, a few increments and an LRU relink, no
// allocation. Bounded: at most `maxPairs` pairs; a new pair beyond that evicts the least
// recently used one (counted). The evaluator reads and resets the counters on its timer.

export class PairStats {
  // This window's counters (reset by the evaluator).
  calls = 0;
  denies = 0;
  jwtBadSignature = 0;
  jwtUnknownKey = 0;
  jwtBadAlgorithm = 0;
  /** Recent calls, for annotations: trace ids (when tracing is on), the last refusal's reason. */
  lastTraceId: string | undefined = undefined;
  lastDenyTraceId: string | undefined = undefined;
  lastJwtTraceId: string | undefined = undefined;
  lastDenyReason: string | undefined = undefined;
  /** For a pair under `_OTHER`: a name the caller used (caller-controlled, clipped when shown). */
  example: string | undefined = undefined;
  // Baseline (evaluator only): EWMA of calls and denials per window; windows closed so far.
  ewmaCalls = 0;
  ewmaDenies = 0;
  windows = 0;
  /** The first call: how it ended and its trace, for MeshwardNewCaller. */
  firstReason: string | undefined = undefined;
  firstTraceId: string | undefined = undefined;
  // LRU list links: most recently used at the head.
  prev: PairStats | undefined = undefined;
  next: PairStats | undefined = undefined;

  constructor(
    readonly principal: string,
    readonly method: string,
    /** ms since the epoch. */
    readonly firstSeen: number,
  ) {}
}

export interface PairTableStats {
  readonly pairs: number;
  readonly evictions: number;
  /** New-caller events lost because the evaluator had not yet taken the previous ones. */
  readonly eventsDropped: number;
}

export class PairTable {
  readonly #byPrincipal = new Map<string, Map<string, PairStats>>();
  #size = 0;
  #head: PairStats | undefined;
  #tail: PairStats | undefined;
  #evictions = 0;
  #eventsDropped = 0;
  /** Pairs first seen after the learning period, for the evaluator to raise MeshwardNewCaller. */
  #fresh: PairStats[] = [];

  constructor(
    private readonly maxPairs: number,
    /** A pair first seen at or after this time (ms) is a new caller. */
    private readonly learnUntil: number,
    private readonly maxFresh = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Finds (or creates) the pair and marks it used; the caller then bumps its counters. */
  pair(principal: string, method: string): PairStats {
    let byMethod = this.#byPrincipal.get(principal);
    let pair = byMethod?.get(method);
    if (pair !== undefined) {
      this.#touch(pair);
      return pair;
    }
    if (this.#size >= this.maxPairs) this.#evictTail();
    const now = this.now();
    pair = new PairStats(principal, method, now);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#byPrincipal.set(principal, byMethod);
    }
    byMethod.set(method, pair);
    this.#size++;
    this.#pushHead(pair);
    if (now >= this.learnUntil) {
      if (this.#fresh.length < this.maxFresh) this.#fresh.push(pair);
      else this.#eventsDropped++;
    }
    return pair;
  }

  /** The pairs first seen since the last call (after the learning period). */
  takeFresh(): PairStats[] {
    if (this.#fresh.length === 0) return [];
    const fresh = this.#fresh;
    this.#fresh = [];
    return fresh;
  }

  /** Every pair, most recently used first. Do not add pairs while iterating. */
  *pairs(): Generator<PairStats> {
    for (let p = this.#head; p !== undefined; p = p.next) yield p;
  }

  get stats(): PairTableStats {
    return { pairs: this.#size, evictions: this.#evictions, eventsDropped: this.#eventsDropped };
  }

  #touch(pair: PairStats): void {
    if (this.#head === pair) return;
    // Unlink (pair is not the head, so pair.prev is set)...
    pair.prev!.next = pair.next;
    if (pair.next !== undefined) pair.next.prev = pair.prev;
    else this.#tail = pair.prev;
    // ...and put it first.
    pair.prev = undefined;
    pair.next = this.#head;
    this.#head!.prev = pair;
    this.#head = pair;
  }

  #pushHead(pair: PairStats): void {
    pair.next = this.#head;
    if (this.#head !== undefined) this.#head.prev = pair;
    this.#head = pair;
    if (this.#tail === undefined) this.#tail = pair;
  }

  #evictTail(): void {
    const victim = this.#tail;
    if (victim === undefined) return;
    this.#tail = victim.prev;
    if (this.#tail !== undefined) this.#tail.next = undefined;
    else this.#head = undefined;
    victim.prev = undefined;
    const byMethod = this.#byPrincipal.get(victim.principal);
    byMethod?.delete(victim.method);
    if (byMethod !== undefined && byMethod.size === 0) this.#byPrincipal.delete(victim.principal);
    this.#size--;
    this.#evictions++;
  }
}
