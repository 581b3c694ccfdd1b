// The shared limit store (`rateLimit.store: redis`): one ioredis client and the Bottleneck
// connection built on it, a time bound on every call the data path makes, and the store's
// health: marked down on the first failure or timeout, probed, up again by itself. One outage
// is one pair of log lines: a relapse while the store settles (the calls refused meanwhile
// all arrive at once, and keys lost by a restarted Redis are set up again) is the same outage.

import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { log } from '../core/log.js';

/** After a probe succeeds, the store must stay up this long before the outage is over. */
const SETTLE_MS = 2_000;

/** What `call` returns when the store did not answer in time (or is known to be down). */
export const UNAVAILABLE: unique symbol = Symbol('limit store unavailable');

export interface RedisStoreOptions {
  readonly url: string;
  readonly failMode: 'open' | 'closed';
  /** No call waits longer than this for the store (rateLimit.redis.timeout). */
  readonly timeoutMs: number;
  /** While down, how often to try the store again. Default 250 ms. */
  readonly probeIntervalMs?: number;
}

export interface StoreStatus {
  readonly state: 'up' | 'down';
  /** ms since the epoch of the last change of state. */
  readonly since: number;
  /** Times the store went down since start. */
  readonly outages: number;
  /** Calls answered without the store (failMode applied) since start. */
  readonly unavailableCalls: number;
}

export class RedisLimitStore {
  readonly client: Redis;
  readonly connection: Bottleneck.IORedisConnection;
  readonly failMode: 'open' | 'closed';
  readonly timeoutMs: number;
  readonly #probeIntervalMs: number;
  #up = true;
  #since = Date.now();
  /** When the current outage began (ms since the epoch); undefined when there is none. */
  #outageStart: number | undefined;
  #outages = 0;
  #unavailableCalls = 0;
  #probe: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: RedisStoreOptions) {
    this.failMode = opts.failMode;
    this.timeoutMs = opts.timeoutMs;
    this.#probeIntervalMs = opts.probeIntervalMs ?? 250;
    this.client = new Redis(opts.url, {
      // Fail fast instead of queueing while disconnected, and never let a command hang:
      // the data path has its own bound (timeoutMs) and answers by failMode.
      enableOfflineQueue: false,
      commandTimeout: Math.max(opts.timeoutMs, 10),
      maxRetriesPerRequest: 0,
      connectTimeout: Math.max(opts.timeoutMs * 4, 1000),
      // Reconnect forever, at most a second apart: recovery needs no operator.
      retryStrategy: (times) => Math.min(50 * times, 1000),
    });
    this.connection = new Bottleneck.IORedisConnection({ client: this.client });
    // Bottleneck's pub/sub only wakes jobs queued in Bottleneck across replicas; meshward never
    // queues there (a rate limit takes a token or refuses). Yet its increment_reservoir script
    // publishes on every call, to every replica subscribed to that key: ~140 µs of CPU per
    // message here (BENCHMARKS.md). So limiters do not subscribe. This also keeps Bottleneck's
    // unawaited `forEach(async unsubscribe)` from rejecting — unhandled — while Redis is away.
    const subscriber = (this.connection as unknown as { subscriber: Record<'subscribe' | 'unsubscribe', unknown> }).subscriber;
    const skip = (...args: unknown[]): Promise<number> => {
      const callback = args[args.length - 1];
      if (typeof callback === 'function') (callback as (err: null, n: number) => void)(null, 0);
      return Promise.resolve(0);
    };
    subscriber.subscribe = skip;
    subscriber.unsubscribe = skip;
    // Without listeners ioredis prints every connection error; the state change is logged once below.
    this.connection.on('error', () => undefined);
    this.client.on('error', () => undefined);
    this.client.on('close', () => this.markDown('connection closed'));
  }

  get up(): boolean {
    return this.#up;
  }

  /**
   * Waits (at most `waitMs`) until the client and Bottleneck's subscriber are connected, so
   * the first calls after startup do not time out; marks the store down if they are not.
   */
  async connected(waitMs: number): Promise<boolean> {
    // Bottleneck's typings call `ready` a method; at runtime it is the promise itself.
    const ready = (this.connection as unknown as { ready: Promise<unknown> }).ready;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      ready.then(() => true, () => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), waitMs))),
    ]);
    clearTimeout(timer);
    if (!ok) this.markDown(`not connected within ${waitMs} ms of startup`);
    return ok;
  }

  status(): StoreStatus {
    return { state: this.#up ? 'up' : 'down', since: this.#since, outages: this.#outages, unavailableCalls: this.#unavailableCalls };
  }

  /** Counts a call answered without the store (it is down); true when failMode refuses it. */
  unavailable(): boolean {
    this.#unavailableCalls++;
    return this.failMode === 'closed';
  }

  /**
   * Runs `op` against the store, bounded by `timeoutMs` (default: the configured timeout).
   * UNAVAILABLE when the store is down (answered at once, without waiting), fails, or takes
   * too long.
   */
  call<T>(op: () => Promise<T>, timeoutMs = this.timeoutMs): Promise<T | typeof UNAVAILABLE> {
    if (!this.#up) {
      this.#unavailableCalls++;
      return Promise.resolve(UNAVAILABLE);
    }
    return new Promise((resolve) => {
      let answered = false;
      const timer = setTimeout(() => {
        answered = true;
        this.#unavailableCalls++;
        this.markDown(`no answer within ${this.timeoutMs} ms`);
        resolve(UNAVAILABLE);
      }, Math.max(1, timeoutMs));
      op().then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          // A failure after the call was already answered (timed out) says nothing new, and
          // may come after the store is back: it must not start a second outage.
          if (answered) return;
          this.#unavailableCalls++;
          this.markDown(err instanceof Error ? err.message : String(err));
          resolve(UNAVAILABLE);
        },
      );
    });
  }

  /** Records an outage (one log line; a relapse while settling is the same one), then probes. */
  markDown(why: string): void {
    if (!this.#up || this.#closed) return;
    this.#up = false;
    this.#since = Date.now();
    if (this.#settle !== undefined) {
      clearTimeout(this.#settle);
      this.#settle = undefined;
      log.debug('rate limit store unreachable again while settling', { store: 'redis', error: why });
    } else {
      this.#outageStart = this.#since;
      this.#outages++;
      log.warn('rate limit store unreachable', { store: 'redis', error: why, failMode: this.failMode, timeoutMs: this.timeoutMs });
    }
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#closed) return;
    this.#probe = setTimeout(() => void this.#tryProbe(), this.#probeIntervalMs);
    this.#probe.unref();
  }

  async #tryProbe(): Promise<void> {
    this.#probe = undefined;
    if (this.#closed || this.#up) return;
    let ok = false;
    try {
      ok = this.client.status === 'ready' && (await this.client.ping()) === 'PONG';
    } catch {
      ok = false;
    }
    if (!ok) return this.#scheduleProbe();
    this.#up = true;
    this.#since = Date.now();
    // Calls use the store again at once; the outage is over once it has stayed up a while.
    this.#settle = setTimeout(() => {
      this.#settle = undefined;
      const downMs = this.#since - (this.#outageStart ?? this.#since);
      this.#outageStart = undefined;
      log.info('rate limit store reachable again', { store: 'redis', downMs });
    }, SETTLE_MS);
    this.#settle.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probe !== undefined) clearTimeout(this.#probe);
    if (this.#settle !== undefined) clearTimeout(this.#settle);
    await Promise.race([this.connection.disconnect(false), new Promise((r) => setTimeout(r, 500).unref())]).catch(() => undefined);
  }
}
