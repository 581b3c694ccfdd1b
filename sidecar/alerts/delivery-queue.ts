// One receiver's delivery (DESIGN §10): a bounded queue, batches of at most `batch` items, one
// request in flight, retries with exponential backoff and jitter, then the batch is given up.
// `push` is O(1) and never waits: a full queue drops its oldest item. Every item ends as
// exactly one of ok / failed / dropped (meshward_alerts_sent_total{result}); a failed attempt
// that is retried also counts `retried`. CONTROL path: nothing here runs on a call.

export interface DeliveryOptions {
  readonly capacity: number;
  readonly batch: number;
  /** Attempts after the first. */
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** An item already waiting is not queued twice (its newest state is read when sent). */
  readonly coalesce?: boolean;
  /** Default Math.random; tests pin it. */
  readonly random?: () => number;
}

export interface DeliveryStats {
  readonly ok: number;
  readonly retried: number;
  readonly failed: number;
  readonly dropped: number;
  readonly queued: number;
  readonly lastError: string | undefined;
}

/** Sends one batch; rejects (with a short message) when the receiver did not take it. */
export type SendBatch<T> = (batch: readonly T[]) => Promise<void>;

export class DeliveryQueue<T> {
  // A ring buffer: items[head .. head+length) modulo capacity.
  readonly #items: (T | undefined)[];
  #head = 0;
  #length = 0;
  readonly #waiting = new Set<T>();
  #busy = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #ok = 0;
  #retried = 0;
  #failed = 0;
  #dropped = 0;
  #lastError: string | undefined;
  #idle: Array<() => void> = [];
  /** Called on the first failure after a success, and on the first success after failures. */
  onHealthChange: ((healthy: boolean, error: string | undefined) => void) | undefined;
  #healthy = true;

  constructor(
    private readonly send: SendBatch<T>,
    private readonly opts: DeliveryOptions,
  ) {
    this.#items = new Array<T | undefined>(opts.capacity);
  }

  push(item: T): void {
    if (this.#closed) return;
    if (this.opts.coalesce === true) {
      if (this.#waiting.has(item)) return;
      this.#waiting.add(item);
    }
    if (this.#length === this.opts.capacity) {
      const oldest = this.#items[this.#head]!;
      this.#items[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.opts.capacity;
      this.#length--;
      this.#waiting.delete(oldest);
      this.#dropped++;
    }
    this.#items[(this.#head + this.#length) % this.opts.capacity] = item;
    this.#length++;
    this.#pump();
  }

  /** Items that can be pushed before the oldest is dropped. */
  get room(): number {
    return this.opts.capacity - this.#length;
  }

  get stats(): DeliveryStats {
    return { ok: this.#ok, retried: this.#retried, failed: this.#failed, dropped: this.#dropped, queued: this.#length, lastError: this.#lastError };
  }

  /** Resolves when nothing is queued or in flight, or after `timeoutMs`; then stops (later pushes are ignored). */
  async close(timeoutMs: number): Promise<void> {
    if (this.#busy || this.#length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.#idle.push(r)), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #take(): T[] {
    const n = Math.min(this.opts.batch, this.#length);
    const batch: T[] = [];
    for (let i = 0; i < n; i++) {
      const item = this.#items[this.#head]!;
      this.#items[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.opts.capacity;
      this.#waiting.delete(item);
      batch.push(item);
    }
    this.#length -= n;
    return batch;
  }

  #pump(): void {
    if (this.#busy || this.#closed) return;
    if (this.#length === 0) {
      for (const r of this.#idle.splice(0)) r();
      return;
    }
    this.#busy = true;
    // Next turn: `push` never does network work itself, whoever calls it.
    const batch = this.#take();
    setImmediate(() => void this.#deliver(batch, 0));
  }

  async #deliver(batch: readonly T[], attempt: number): Promise<void> {
    let error: string | undefined;
    try {
      await this.send(batch);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    if (error === undefined) {
      this.#ok += batch.length;
      this.#health(true, undefined);
      this.#busy = false;
      this.#pump();
      return;
    }
    this.#lastError = error;
    this.#health(false, error);
    if (attempt >= this.opts.retries || this.#closed) {
      this.#failed += batch.length;
      this.#busy = false;
      this.#pump();
      return;
    }
    this.#retried += batch.length;
    const base = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** attempt);
    const jitter = 0.8 + 0.4 * (this.opts.random ?? Math.random)();
    this.#timer = setTimeout(() => void this.#deliver(batch, attempt + 1), Math.round(base * jitter));
    this.#timer.unref();
  }

  #health(healthy: boolean, error: string | undefined): void {
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    this.onHealthChange?.(healthy, error);
  }
}
