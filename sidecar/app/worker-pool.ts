// The worker processes of `workers` > 1 (CONTROL path, in the primary): forks N workers on
// shared listeners (node:cluster, round-robin), answers their messages over the IPC channel
// (config, token leases, audit records, /tap events), asks them for admin views, restarts one that dies (bounded, with
// backoff) and stops them all on shutdown. No call passes through it. The primary's assembly
// around it: primary.ts.

import cluster, { type Worker } from 'node:cluster';
import type { SidecarConfig } from '../config/schema.js';
import { log } from '../core/log.js';
import type { LeaseGrant, LeaseRequest } from '../ratelimit/token-broker.js';
import type { TapBatch } from '../tap/tap-relay.js';
import type { AuditRecord } from '../telemetry/audit-log.js';
import { WORKER_ENV, type FromWorker, type ToWorker, type WorkerView } from './worker-channel.js';

/** More unexpected exits than this within RESTART_WINDOW_MS stop the sidecar (exit 1). */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** A worker that does not answer an admin question within this long is left out. */
const VIEW_TIMEOUT_MS = 2_000;
/** After the drain timeout, how long workers get to finish stopping before SIGKILL. */
const STOP_GRACE_MS = 10_000;

export interface WorkerSlot {
  /** 1..N; a restarted worker keeps its number. */
  readonly n: number;
  worker: Worker | undefined;
  state: 'starting' | 'ready' | 'stopping' | 'exited';
  /** Id of the newest metrics answer taken, so an older answer never replaces a newer one. */
  metricsId: number;
  inbound?: string;
  outbound?: string | undefined;
}

export type WorkerReply = { value?: unknown; error?: string } | undefined;
/** What the primary asks a worker: an admin view, or to relay its calls for /tap (or stop). */
export type WorkerQuestion = { readonly mw: 'view'; readonly what: WorkerView } | { readonly mw: 'tap'; readonly on: boolean };

export interface WorkerPoolOptions {
  readonly config: SidecarConfig;
  readonly count: number;
  /** A worker's lease request (memory rate limits shared by the workers). */
  readonly lease: (req: LeaseRequest) => LeaseGrant;
  /** A worker's audit records, in its order; `dropped`: records it dropped before them. */
  readonly onAudit: (slot: number, records: readonly AuditRecord[], dropped: number) => void;
  /** A worker's calls, relayed while the primary has /tap subscribers. */
  readonly onTapEvents: (batch: TapBatch) => void;
  /** A worker became ready (a restarted one too): e.g. tell it to relay its calls. */
  readonly onReady: (slot: WorkerSlot) => void;
  /** A worker exited: its last numbers are kept, it is no longer asked. */
  readonly onGone: (slot: number) => void;
}

export class WorkerPool {
  readonly slots: WorkerSlot[];
  /** Workers restarted after exiting unexpectedly. */
  restarts = 0;
  readonly #opts: WorkerPoolOptions;
  readonly #replies = new Map<number, (r: WorkerReply) => void>();
  readonly #exited = new Map<Worker, Promise<number | null>>();
  readonly #recentExits: number[] = [];
  #nextId = 1;
  #draining = false;
  #started = false;
  #onStartup: (code: number) => void = () => undefined;
  #onFatal: (code: number) => void = () => undefined;
  /** Resolves with an exit code when the workers cannot be kept running. */
  readonly fatal: Promise<number>;

  constructor(opts: WorkerPoolOptions) {
    this.#opts = opts;
    this.slots = Array.from({ length: opts.count }, (_, i) => ({ n: i + 1, worker: undefined, state: 'exited', metricsId: 0 }));
    this.fatal = new Promise<number>((resolve) => (this.#onFatal = resolve));
  }

  get draining(): boolean {
    return this.#draining;
  }

  get readyCount(): number {
    return this.slots.filter((s) => s.state === 'ready').length;
  }

  /** Forks every worker; 0 once all are ready, or the exit code of one that could not start (2: invalid policies). */
  start(): Promise<number> {
    cluster.schedulingPolicy = cluster.SCHED_RR; // the primary accepts, workers take turns: even spread
    const startup = new Promise<number>((resolve) => (this.#onStartup = resolve));
    for (const slot of this.slots) this.#fork(slot);
    return startup.then((code) => {
      if (code === 0) this.#started = true;
      return code;
    });
  }

  /** Asks one worker for a view; `reply` is undefined when it did not answer in time. */
  ask(slot: WorkerSlot, what: WorkerView): Promise<{ id: number; reply: WorkerReply }> {
    return this.question(slot, { mw: 'view', what });
  }

  /** Every ready worker's answer to `q`. */
  questionAll(q: WorkerQuestion): Promise<Array<{ id: number; reply: WorkerReply }>> {
    return Promise.all(this.slots.filter((s) => s.state === 'ready').map((s) => this.question(s, q)));
  }

  /** One worker's answer to `q`; `reply` is undefined when it did not answer in time. */
  question(slot: WorkerSlot, q: WorkerQuestion): Promise<{ id: number; reply: WorkerReply }> {
    const worker = slot.worker;
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(undefined), VIEW_TIMEOUT_MS);
      const settle = (reply: WorkerReply): void => {
        clearTimeout(timer);
        this.#replies.delete(id);
        resolve({ id, reply });
      };
      this.#replies.set(id, settle);
      if (worker === undefined || !send(worker, { ...q, id })) settle(undefined);
    });
  }

  /** A view any ready worker answers (they share config and policies). */
  async askAny(what: WorkerView): Promise<unknown> {
    const slot = this.slots.find((s) => s.state === 'ready');
    if (slot === undefined) throw new Error('no worker ready');
    const { reply } = await this.ask(slot, what);
    if (reply === undefined || reply.error !== undefined) throw new Error(`worker ${slot.n}: ${reply?.error ?? 'no answer'}`);
    return reply.value;
  }

  /** Sends `signal` to every ready worker (SIGHUP: reopen logs). */
  signal(signal: NodeJS.Signals): void {
    for (const s of this.slots) if (s.state === 'ready') s.worker?.process.kill(signal);
  }

  /** SIGTERM to every worker (each drains as a single process does), SIGKILL after the grace period; true when all exited 0. */
  async stop(): Promise<boolean> {
    this.#draining = true;
    const live = this.slots.filter((s) => s.worker !== undefined).map((s) => ((s.state = 'stopping'), s.worker!));
    for (const w of live) w.process.kill('SIGTERM');
    const kill = setTimeout(() => live.forEach((w) => w.process.kill('SIGKILL')), this.#opts.config.shutdown.drainTimeout + STOP_GRACE_MS);
    const codes = await Promise.all(live.map((w) => this.#exited.get(w)!));
    clearTimeout(kill);
    return codes.every((c) => c === 0);
  }

  #fork(slot: WorkerSlot): void {
    const worker = cluster.fork({ [WORKER_ENV]: `${slot.n}/${this.#opts.count}` });
    slot.worker = worker;
    slot.state = 'starting';
    this.#exited.set(worker, new Promise((resolve) => worker.once('exit', (code) => resolve(code))));
    worker.on('message', (msg: FromWorker) => this.#onMessage(slot, worker, msg));
    worker.once('exit', (code, signal) => this.#onExit(slot, worker, code, signal));
  }

  #onMessage(slot: WorkerSlot, worker: Worker, msg: FromWorker): void {
    switch (msg?.mw) {
      case 'config?':
        send(worker, { mw: 'reply', id: msg.id, value: this.#opts.config });
        return;
      case 'lease':
        send(worker, { mw: 'reply', id: msg.id, value: this.#opts.lease(msg.req) });
        return;
      case 'reply':
        this.#replies.get(msg.id)?.({ value: msg.value, error: msg.error });
        return;
      case 'audit':
        this.#opts.onAudit(slot.n, msg.records, msg.dropped);
        return;
      case 'tap-events':
        this.#opts.onTapEvents(msg.batch);
        return;
      case 'ready':
        if (slot.worker !== worker || slot.state !== 'starting') return;
        slot.state = 'ready';
        slot.inbound = msg.inbound;
        slot.outbound = msg.outbound;
        this.#opts.onReady(slot);
        if (this.#started) log.info('worker ready', { worker: slot.n, pid: worker.process.pid });
        else if (this.slots.every((s) => s.state === 'ready')) this.#onStartup(0);
        return;
    }
  }

  #onExit(slot: WorkerSlot, worker: Worker, code: number | null, signal: string | null): void {
    this.#exited.delete(worker); // awaited already by stop() if it needs it
    if (slot.worker !== worker) return;
    this.#opts.onGone(slot.n);
    slot.worker = undefined;
    const was = slot.state;
    slot.state = 'exited';
    if (this.#draining) return;
    if (!this.#started) {
      // Startup: a worker that cannot start (invalid policies: exit 2) stops the sidecar with its code.
      this.#onStartup(code === 2 ? 2 : 1);
      return;
    }
    const now = Date.now();
    const recent = this.#recentExits;
    recent.push(now);
    while (recent.length > 0 && recent[0]! < now - RESTART_WINDOW_MS) recent.shift();
    log.error('worker exited unexpectedly', { worker: slot.n, pid: worker.process.pid, code, signal, state: was });
    if (recent.length > MAX_RESTARTS) {
      log.error('workers keep exiting; stopping', { restarts: recent.length, windowMs: RESTART_WINDOW_MS });
      this.#onFatal(1);
      return;
    }
    const delayMs = Math.min(5_000, 100 * 2 ** (recent.length - 1));
    log.warn('restarting worker', { worker: slot.n, inMs: delayMs });
    setTimeout(() => {
      if (this.#draining) return;
      this.restarts++;
      this.#fork(slot);
    }, delayMs);
  }
}

function send(worker: Worker, msg: ToWorker): boolean {
  if (!worker.isConnected()) return false;
  try {
    worker.send(msg);
    return true;
  } catch {
    return false; // the channel closed in between; its 'exit' follows
  }
}
