// A worker's side of `workers` > 1 (the primary: primary.ts and worker-pool.ts): what it
// exchanges with the primary over the cluster IPC channel — its config, its readiness, the
// admin views the primary serves, rate-limit token leases (one per batch of tokens) and audit
// records (one message per event-loop turn that had any: the primary writes the one hash
// chain, DESIGN §11).

import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { AdminState } from '../admin/admin-server.js';
import type { SidecarConfig } from '../config/schema.js';
import type { SidecarOptions } from './sidecar.js';
import type { LeaseGrant, LeaseRequest } from '../ratelimit/token-broker.js';
import { TapRelay, type TapBatch } from '../tap/tap-relay.js';
import type { AuditRecord, AuditSink } from '../telemetry/audit-log.js';

/** Environment variable naming a worker's place: "slot/count", e.g. "2/4". */
export const WORKER_ENV = 'MESHWARD_WORKER';

/** What the primary may ask a worker for. */
export type WorkerView = 'metrics' | 'config' | 'policies' | 'policyRules' | 'overview' | 'refusals' | 'catalog' | 'alerts';

/** Worker → primary. */
export type FromWorker =
  | { readonly mw: 'config?'; readonly id: number }
  | { readonly mw: 'ready'; readonly inbound: string; readonly outbound: string | undefined }
  | { readonly mw: 'lease'; readonly id: number; readonly req: LeaseRequest }
  /** Audit records in the order decided; `dropped`: records this worker dropped before them (queue full). */
  | { readonly mw: 'audit'; readonly records: readonly AuditRecord[]; readonly dropped: number }
  | { readonly mw: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: string }
  | { readonly mw: 'tap-events'; readonly batch: TapBatch };

/** Primary → worker. */
export type ToWorker =
  | { readonly mw: 'reply'; readonly id: number; readonly value: unknown }
  | { readonly mw: 'view'; readonly id: number; readonly what: WorkerView }
  /** Relay every call to the primary (it has /tap subscribers), or stop. Answered with a reply. */
  | { readonly mw: 'tap'; readonly id: number; readonly on: boolean };

/** A lease unanswered this long is refused (fail closed); the primary answers in well under 1 ms. */
const LEASE_TIMEOUT_MS = 500;

export interface WorkerSlot {
  /** 1..count, stable across restarts of that worker. */
  readonly slot: number;
  readonly count: number;
}

/** This process's place, when it is a worker started by `meshward run` with `workers` > 1. */
export function workerSlot(): WorkerSlot | undefined {
  if (!cluster.isWorker) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(process.env[WORKER_ENV] ?? '');
  return m === null ? undefined : { slot: Number(m[1]), count: Number(m[2]) };
}

let nextId = 1;
const pending = new Map<number, (value: unknown) => void>();
let adminState: AdminState | undefined;

function send(msg: FromWorker): boolean {
  if (!process.connected || process.send === undefined) return false;
  process.send(msg);
  return true;
}

function request(make: (id: number) => FromWorker, timeoutMs: number | undefined): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve) => {
    // Timers run before the loop reads the IPC pipe: after a stall of this process an answer may be
    // waiting unread, so the timeout is decided one poll phase later (setImmediate).
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => setImmediate(() => settle(undefined)), timeoutMs);
    const settle = (value: unknown): void => {
      clearTimeout(timer);
      pending.delete(id);
      resolve(value);
    };
    pending.set(id, settle);
    if (!send(make(id))) settle(undefined);
  });
}

async function answer(id: number, what: WorkerView): Promise<void> {
  const state = adminState;
  try {
    if (state === undefined) throw new Error('not started');
    const views: Record<WorkerView, () => unknown> = {
      metrics: () => state.metrics?.(),
      config: () => state.config(),
      policies: () => state.policies(),
      policyRules: () => state.policyRules?.(),
      overview: () => state.overview?.(),
      refusals: () => state.refusals?.(),
      catalog: () => state.views?.['/catalog']?.(),
      alerts: () => state.views?.['/alerts']?.(),
    };
    const value = await views[what]();
    send({ mw: 'reply', id, value });
  } catch (err) {
    send({ mw: 'reply', id, error: String(err) });
  }
}

let relay: TapRelay | undefined;

/** The primary has /tap subscribers (or no longer has): relay this worker's calls to it, or stop. */
function switchTap(id: number, on: boolean): void {
  const tap = adminState?.tap;
  if (on && relay === undefined && tap !== undefined) {
    relay = new TapRelay(tap, (batch, done) => {
      if (!process.connected || process.send === undefined) return false;
      return process.send({ mw: 'tap-events', batch } satisfies FromWorker, undefined, {}, () => done());
    });
  } else if (!on) {
    relay?.close();
    relay = undefined;
  }
  send({ mw: 'reply', id });
}

let listening = false;
function listen(): void {
  if (listening) return;
  listening = true;
  process.on('message', (msg: ToWorker) => {
    if (msg?.mw === 'reply') pending.get(msg.id)?.(msg.value);
    else if (msg?.mw === 'view') void answer(msg.id, msg.what);
    else if (msg?.mw === 'tap') switchTap(msg.id, msg.on);
  });
}

/** The config the primary loaded and validated (a restarted worker gets the same one). */
export async function configFromPrimary(): Promise<SidecarConfig> {
  listen();
  const config = await request((id) => ({ mw: 'config?', id }), undefined);
  if (config === undefined) throw new Error('no config from the primary process');
  return config as SidecarConfig;
}

/** startSidecar's options in a worker: admin views go to the primary, memory rate limits lease tokens. */
export function workerSidecarOptions(count: number, slot: number): SidecarOptions {
  listen();
  return {
    worker: slot,
    serveAdmin: async (state) => {
      adminState = state;
      const none: AddressInfo = { address: '', family: 'IPv4', port: 0 };
      return {
        address: none,
        mtlsRequired: false,
        setIdentity: () => undefined,
        close: async () => {
          relay?.close();
          relay = undefined;
          adminState = undefined;
        },
      };
    },
    workers: {
      count,
      ask: (req) => request((id) => ({ mw: 'lease', id, req }), LEASE_TIMEOUT_MS) as Promise<LeaseGrant | undefined>,
    },
    audit: new AuditForwarder(),
  };
}

/** Records sent to the primary and not yet handed to the channel, at most; beyond, records are dropped and counted. */
const MAX_AUDIT_IN_FLIGHT = 16_384;
/** How long close() waits for queued records to reach the channel. */
const AUDIT_CLOSE_WAIT_MS = 2_000;

/**
 * A worker's audit sink (DATA path: `write` only queues): one IPC message per event-loop turn
 * with the records of that turn; the primary chains and writes them (primary.ts).
 */
class AuditForwarder implements AuditSink {
  private pending: AuditRecord[] = [];
  private inFlight = 0;
  private dropped = 0;
  private scheduled = false;

  write(record: AuditRecord): void {
    if (this.pending.length + this.inFlight >= MAX_AUDIT_IN_FLIGHT) {
      this.dropped++;
      return;
    }
    this.pending.push(record);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  async close(): Promise<void> {
    this.flush();
    for (let waited = 0; this.inFlight > 0 && waited < AUDIT_CLOSE_WAIT_MS; waited += 10) await new Promise((r) => setTimeout(r, 10));
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.pending.length === 0 && this.dropped === 0) return;
    const records = this.pending;
    const n = records.length;
    const msg: FromWorker = { mw: 'audit', records, dropped: this.dropped };
    this.pending = [];
    this.dropped = 0;
    if (!process.connected || process.send === undefined) return; // the primary is gone; so is the log
    this.inFlight += n;
    process.send(msg, undefined, undefined, () => (this.inFlight -= n));
  };
}

/** Tells the primary this worker's listeners are up (it logs "meshward ready" once all are). */
export function announceReady(inbound: string, outbound: string | undefined): void {
  send({ mw: 'ready', inbound, outbound });
}
