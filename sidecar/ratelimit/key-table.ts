// A bounded table of per-caller limiter state (data path): get-or-create by key, at most
// `max` entries, CLOCK eviction when full (recently used entries are spared once), and a
// sweep that drops idle entries. A flood of distinct callers cannot grow it past `max`.

export interface KeyTableOptions<V> {
  /** Most entries kept (at least 1). */
  readonly max: number;
  /** Makes the state for a new key. */
  create(key: string, now: number): V;
  /** True when the entry can be forgotten without changing behaviour (e.g. a full bucket). */
  isIdle(value: V, now: number): boolean;
  /** Called for each entry that leaves the table (evicted or swept). */
  onRemove?(value: V): void;
}

interface Entry<V> {
  readonly key: string;
  readonly value: V;
  /** Its place on the clock face. */
  readonly slot: number;
  /** Hit since the hand last passed: spared once. */
  used: boolean;
}

// Why a clock face and not "delete + set on every hit" (the usual Map LRU): see
// authn/token-cache.ts — tombstones made a hot key cost microseconds in a big Map.
export class KeyTable<V> {
  readonly #map = new Map<string, Entry<V>>();
  readonly #slots: (Entry<V> | undefined)[];
  /** Empty slots (a stack); the clock hand only runs when there are none. */
  readonly #free: number[];
  readonly #opts: KeyTableOptions<V>;
  #hand = 0;
  #evicted = 0;

  constructor(opts: KeyTableOptions<V>) {
    this.#opts = opts;
    const n = Math.max(1, Math.floor(opts.max));
    this.#slots = new Array<Entry<V> | undefined>(n).fill(undefined);
    this.#free = Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  get size(): number {
    return this.#map.size;
  }

  /** Entries that had to leave while still in use (the table was full). */
  get evicted(): number {
    return this.#evicted;
  }

  get(key: string, now: number): V {
    const entry = this.#map.get(key);
    if (entry !== undefined) {
      entry.used = true;
      return entry.value;
    }
    return this.#insert(key, now);
  }

  /** The entry for `key` if present, without creating or marking it. */
  peek(key: string): V | undefined {
    return this.#map.get(key)?.value;
  }

  delete(key: string): void {
    const entry = this.#map.get(key);
    if (entry !== undefined) this.#remove(entry);
  }

  /** Drops every idle entry; returns how many. Control path (a timer), O(size). */
  sweep(now: number): number {
    let removed = 0;
    for (const entry of this.#map.values()) {
      if (this.#opts.isIdle(entry.value, now)) {
        this.#remove(entry);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    for (const entry of this.#map.values()) this.#remove(entry);
  }

  #insert(key: string, now: number): V {
    const free = this.#free.pop();
    if (free !== undefined) return this.#place(key, now, free);
    const slots = this.#slots;
    // Full: pass over entries hit since the last pass (clearing their mark); take the first
    // one that is idle or was not hit since. Ends within one turn of the face.
    let victim = slots[this.#hand];
    while (victim !== undefined && victim.used && !this.#opts.isIdle(victim.value, now)) {
      victim.used = false;
      this.#hand = (this.#hand + 1) % slots.length;
      victim = slots[this.#hand];
    }
    const slot = this.#hand;
    this.#hand = (slot + 1) % slots.length;
    if (victim !== undefined) {
      if (!this.#opts.isIdle(victim.value, now)) this.#evicted++;
      this.#remove(victim);
      this.#free.pop(); // the slot #remove just freed is `slot`: reuse it
    }
    return this.#place(key, now, slot);
  }

  #place(key: string, now: number, slot: number): V {
    const value = this.#opts.create(key, now);
    const entry: Entry<V> = { key, value, slot, used: false };
    this.#slots[slot] = entry;
    this.#map.set(key, entry);
    return value;
  }

  #remove(entry: Entry<V>): void {
    this.#map.delete(entry.key);
    this.#slots[entry.slot] = undefined;
    this.#free.push(entry.slot);
    this.#opts.onRemove?.(entry.value);
  }
}
