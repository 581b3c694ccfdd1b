// A worker's side of `workers` > 1 (the primary is cli/workers.ts): what it exchanges with the
// primary over the cluster IPC channel — its config, its readiness, the admin views the primary
// serves, and rate-limit token leases (the only data-path message, one per batch of tokens).

import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { AdminState } from '../admin/admin-server.js';
import type { SidecarConfig } from '../config/schema.js';
import type { SidecarOptions } from '../main.js';
import type { LeaseGrant, LeaseRequest } from '../ratelimit/token-broker.js';

/** Environment variable naming a worker's place: "slot/count", e.g. "2/4". */
export const WORKER_ENV = 'MESHWARD_WORKER';

/** What the primary may ask a worker for. */
export type WorkerView = 'metrics' | 'config' | 'policies' | 'policyRules' | 'catalog';

/** Worker → primary. */
export type FromWorker =
  | { readonly mw: 'config?'; readonly id: number }
  | { readonly mw: 'ready'; readonly inbound: string; readonly outbound: string | undefined }
  | { readonly mw: 'lease'; readonly id: number; readonly req: LeaseRequest }
  | { readonly mw: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: string };

/** Primary → worker. */
export type ToWorker =
  | { readonly mw: 'reply'; readonly id: number; readonly value: unknown }
  | { readonly mw: 'view'; readonly id: number; readonly what: WorkerView };

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
    const value =
      what === 'metrics'
        ? await state.metrics?.()
        : what === 'config'
          ? await state.config()
          : what === 'policyRules'
            ? await state.policyRules?.()
            : what === 'catalog'
              ? await state.views?.['/catalog']?.()
              : await state.policies();
    send({ mw: 'reply', id, value });
  } catch (err) {
    send({ mw: 'reply', id, error: String(err) });
  }
}

let listening = false;
function listen(): void {
  if (listening) return;
  listening = true;
  process.on('message', (msg: ToWorker) => {
    if (msg?.mw === 'reply') pending.get(msg.id)?.(msg.value);
    else if (msg?.mw === 'view') void answer(msg.id, msg.what);
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
      return { address: none, close: async () => void (adminState = undefined) };
    },
    workers: {
      count,
      ask: (req) => request((id) => ({ mw: 'lease', id, req }), LEASE_TIMEOUT_MS) as Promise<LeaseGrant | undefined>,
    },
  };
}

/** Tells the primary this worker's listeners are up (it logs "meshward ready" once all are). */
export function announceReady(inbound: string, outbound: string | undefined): void {
  send({ mw: 'ready', inbound, outbound });
}
