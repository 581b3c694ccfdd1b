// `meshward run` with `workers` > 1 (DESIGN §3): this primary process forks N workers that each
// run the whole sidecar on shared listeners (node:cluster, round-robin), serves the admin
// endpoints for all of them, brokers memory rate limits, restarts a worker that dies
// (bounded), drains every worker on SIGTERM/SIGINT, and writes the audit log: one hash chain
// for all workers (records carry `worker`; docs/audit.md). CONTROL path; no call passes through it.

import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost } from '../admin/admin-access.js';
import { adminTlsFor, startAdminServer } from '../admin/admin-server.js';
import type { SidecarConfig } from '../config/schema.js';
import { mergeCatalogViews } from '../catalog/catalog-merge.js';
import type { CatalogView } from '../catalog/catalog-view.js';
import { log } from '../core/log.js';
import { IdentityStore } from '../identity/identity-store.js';
import { TapHub } from '../tap/tap-hub.js';
import { renderTapMetrics } from '../tap/tap-metrics.js';
import { TapFanIn } from '../tap/tap-relay.js';
import type { TapEvent } from '../tap/tap-event.js';
import { openAuditLog, type AuditLog } from '../telemetry/audit-log.js';
import { TokenBroker } from '../ratelimit/token-broker.js';
import { renderSingle } from '../telemetry/metric-family.js';
import { MetricsMerger } from '../telemetry/metrics-merge.js';
import { untilShutdown } from './until-shutdown.js';
import { WORKER_ENV, type FromWorker, type ToWorker, type WorkerView } from './worker-channel.js';

/** More unexpected exits than this within RESTART_WINDOW_MS stop the sidecar (exit 1). */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** A worker that does not answer an admin question within this long is left out (metrics: its last answer counts). */
const VIEW_TIMEOUT_MS = 2_000;
/** After the drain timeout, how long workers get to finish stopping before SIGKILL. */
const STOP_GRACE_MS = 10_000;
/** Caller keys per limit in the broker: as ratelimit/limits.ts MAX_KEYS_PER_RULE. */
const MAX_KEYS_PER_LIMIT = 10_000;
/** Refusals /refusals shows (the newest of all workers'). */
const MAX_REFUSALS = 50;
/** Slot of the primary's own series in the merged /metrics (workers are 1..N). */
const PRIMARY_METRICS_SLOT = 0;

interface Slot {
  /** 1..N; a restarted worker keeps its number. */
  readonly n: number;
  worker: Worker | undefined;
  state: 'starting' | 'ready' | 'stopping' | 'exited';
  /** Id of the newest metrics answer taken, so an older answer never replaces a newer one. */
  metricsId: number;
  inbound?: string;
  outbound?: string | undefined;
}

type Reply = { value?: unknown; error?: string } | undefined;
type Question = { readonly mw: 'view'; readonly what: WorkerView } | { readonly mw: 'tap'; readonly on: boolean };

export async function runWorkers(config: SidecarConfig, count: number): Promise<number> {
  cluster.schedulingPolicy = cluster.SCHED_RR; // the primary accepts, workers take turns: even spread
  const broker = new TokenBroker({ maxKeysPerLimit: MAX_KEYS_PER_LIMIT });
  const sweeper = setInterval(() => broker.sweep(), 10_000);
  sweeper.unref();
  const merger = new MetricsMerger();
  // The workers' audit records, chained in the order they arrive (each worker's in its order).
  let audit: AuditLog;
  try {
    audit = openAuditLog(config.audit);
  } catch (err) {
    log.error('startup failed', { error: (err as Error).message });
    clearInterval(sweeper);
    return 1;
  }
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({ n: i + 1, worker: undefined, state: 'exited', metricsId: 0 }));
  const replies = new Map<number, (r: Reply) => void>();
  let nextId = 1;
  let draining = false;
  let restarts = 0;
  const recentExits: number[] = [];
  let started = false;
  let onStartup: (code: number) => void = () => undefined;
  let onFatal: (code: number) => void = () => undefined;
  const exited = new Map<Worker, Promise<number | null>>();

  const ask = (slot: Slot, what: WorkerView): Promise<{ id: number; reply: Reply }> => question(slot, { mw: 'view', what });
  const question = (slot: Slot, q: Question): Promise<{ id: number; reply: Reply }> => {
    const worker = slot.worker;
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(undefined), VIEW_TIMEOUT_MS);
      const settle = (reply: Reply): void => {
        clearTimeout(timer);
        replies.delete(id);
        resolve({ id, reply });
      };
      replies.set(id, settle);
      if (worker === undefined || !send(worker, { ...q, id })) settle(undefined);
    });
  };
  const askAny = async (what: WorkerView): Promise<unknown> => {
    const slot = slots.find((s) => s.state === 'ready');
    if (slot === undefined) throw new Error('no worker ready');
    const { reply } = await ask(slot, what);
    if (reply === undefined || reply.error !== undefined) throw new Error(`worker ${slot.n}: ${reply?.error ?? 'no answer'}`);
    return reply.value;
  };
  const refreshMetrics = async (): Promise<void> => {
    await Promise.all(
      slots
        .filter((s) => s.state === 'ready' || s.state === 'stopping')
        .map(async (s) => {
          const { id, reply } = await ask(s, 'metrics');
          if (typeof reply?.value !== 'string' || id < s.metricsId || s.state === 'exited') return;
          s.metricsId = id;
          merger.update(s.n, reply.value);
        }),
    );
  };
  const readyCount = (): number => slots.filter((s) => s.state === 'ready').length;
  // /tap and the dashboard (DESIGN §12): subscribers here, calls relayed by the workers while any.
  const tap = new TapFanIn(new TapHub(), async (on) => {
    await Promise.all(slots.filter((s) => s.state === 'ready').map((s) => question(s, { mw: 'tap', on })));
  });
  const refusals = async (): Promise<TapEvent[]> => {
    const answers = await Promise.all(slots.filter((s) => s.state === 'ready').map((s) => ask(s, 'refusals')));
    const all = answers.flatMap((a) => (Array.isArray(a.reply?.value) ? (a.reply.value as TapEvent[]) : []));
    return all.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, MAX_REFUSALS);
  };
  // Off loopback the admin listener serves TLS with the workload identity (rotated like the workers').
  const identities = isLoopbackHost(config.admin.listen.host) ? undefined : new IdentityStore(config.identity);

  const admin = await startAdminServer(config.admin.listen, {
    notReadyReasons: () => (draining ? ['draining'] : readyCount() === 0 ? ['no worker ready'] : []),
    config: () => askAny('config'),
    policies: () => askAny('policies'),
    policyRules: () => askAny('policyRules'),
    overview: async () => ({ ...((await askAny('overview')) as object), tap: tap.hub.stats }),
    refusals,
    tap,
    metrics: async () => {
      await refreshMetrics();
      // The primary's tap subscribers, summed with the workers' relay drops.
      merger.update(PRIMARY_METRICS_SLOT, renderTapMetrics(tap.hub.stats));
      return (
        merger.render() +
        renderSingle('meshward_workers', 'Worker processes ready to serve (config workers).', 'gauge', readyCount()) +
        renderSingle('meshward_audit_records_written_total', 'Audit records written.', 'counter', audit.stats.written) +
        renderSingle('meshward_audit_records_dropped_total', 'Audit records dropped because the destination fell behind.', 'counter', audit.stats.dropped) +
        renderSingle('meshward_worker_restarts_total', 'Workers restarted after exiting unexpectedly.', 'counter', restarts)
      );
    },
    views: {
      // Every ready worker's observations, one sidecar: peaks add up (the workers share limits).
      '/catalog': async () => {
        const answers = await Promise.all(slots.filter((s) => s.state === 'ready').map((s) => ask(s, 'catalog')));
        const views = answers.flatMap(({ reply }) => (reply?.value === undefined || reply.error !== undefined ? [] : [reply.value as CatalogView]));
        if (views.length === 0) throw new Error('no worker answered');
        return { ...mergeCatalogViews(views, 'sum'), sources: views[0]!.sources };
      },
      '/workers': async () => {
        await refreshMetrics();
        return slots.map((s) => ({
          worker: s.n,
          pid: s.worker?.process.pid ?? null,
          state: s.state,
          calls: merger.total(s.n, 'meshward_requests_total'),
        }));
      },
    },
  }, identities === undefined ? undefined : adminTlsFor(config, identities.current));
  identities?.onRotate((next) => admin.setIdentity(next));
  identities?.watch();

  const fork = (slot: Slot): void => {
    const worker = cluster.fork({ [WORKER_ENV]: `${slot.n}/${count}` });
    slot.worker = worker;
    slot.state = 'starting';
    exited.set(worker, new Promise((resolve) => worker.once('exit', (code) => resolve(code))));
    worker.on('message', (msg: FromWorker) => onMessage(slot, worker, msg));
    worker.once('exit', (code, signal) => onExit(slot, worker, code, signal));
  };

  const onMessage = (slot: Slot, worker: Worker, msg: FromWorker): void => {
    switch (msg?.mw) {
      case 'config?':
        send(worker, { mw: 'reply', id: msg.id, value: config });
        return;
      case 'lease':
        send(worker, { mw: 'reply', id: msg.id, value: broker.lease(msg.req) });
        return;
      case 'reply':
        replies.get(msg.id)?.({ value: msg.value, error: msg.error });
        return;
      case 'tap-events':
        tap.receive(msg.batch);
        return;
      case 'audit':
        audit.noteDropped(msg.dropped);
        for (const record of msg.records) audit.write({ ...record, worker: slot.n });
        return;
      case 'ready':
        if (slot.worker !== worker || slot.state !== 'starting') return;
        slot.state = 'ready';
        slot.inbound = msg.inbound;
        slot.outbound = msg.outbound;
        if (tap.on) void question(slot, { mw: 'tap', on: true });
        if (started) log.info('worker ready', { worker: slot.n, pid: worker.process.pid });
        else if (slots.every((s) => s.state === 'ready')) onStartup(0);
        return;
    }
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    exited.delete(worker); // awaited already by stopWorkers if it needs it
    if (slot.worker !== worker) return;
    merger.retire(slot.n);
    slot.worker = undefined;
    const was = slot.state;
    slot.state = 'exited';
    if (draining) return;
    if (!started) {
      // Startup: a worker that cannot start (invalid policies: exit 2) stops the sidecar with its code.
      onStartup(code === 2 ? 2 : 1);
      return;
    }
    const now = Date.now();
    recentExits.push(now);
    while (recentExits.length > 0 && recentExits[0]! < now - RESTART_WINDOW_MS) recentExits.shift();
    log.error('worker exited unexpectedly', { worker: slot.n, pid: worker.process.pid, code, signal, state: was });
    if (recentExits.length > MAX_RESTARTS) {
      log.error('workers keep exiting; stopping', { restarts: recentExits.length, windowMs: RESTART_WINDOW_MS });
      onFatal(1);
      return;
    }
    const delayMs = Math.min(5_000, 100 * 2 ** (recentExits.length - 1));
    log.warn('restarting worker', { worker: slot.n, inMs: delayMs });
    setTimeout(() => {
      if (draining) return;
      restarts++;
      fork(slot);
    }, delayMs);
  };

  /** SIGTERM to every worker (each drains as a single process does), SIGKILL after the grace period. */
  const stopWorkers = async (): Promise<boolean> => {
    draining = true;
    const live = slots.filter((s) => s.worker !== undefined).map((s) => ((s.state = 'stopping'), s.worker!));
    for (const w of live) w.process.kill('SIGTERM');
    const kill = setTimeout(() => live.forEach((w) => w.process.kill('SIGKILL')), config.shutdown.drainTimeout + STOP_GRACE_MS);
    const codes = await Promise.all(live.map((w) => exited.get(w)!));
    clearTimeout(kill);
    clearInterval(sweeper);
    identities?.close();
    await audit.close();
    await admin.close();
    return codes.every((c) => c === 0);
  };

  const startup = new Promise<number>((resolve) => (onStartup = resolve));
  for (const slot of slots) fork(slot);
  const startCode = await startup;
  if (startCode !== 0) {
    await stopWorkers();
    return startCode;
  }
  started = true;
  process.on('SIGHUP', () => {
    log.info('reopening log files', { signal: 'SIGHUP' });
    audit.reopen();
    slots.forEach((s) => s.state === 'ready' && s.worker?.process.kill('SIGHUP'));
  });
  log.info('meshward ready', {
    inbound: slots[0]!.inbound,
    admin: formatAddress(admin.address),
    ...(slots[0]!.outbound === undefined ? {} : { outbound: slots[0]!.outbound }),
    pid: process.pid,
    workers: count,
    workerPids: slots.map((s) => s.worker?.process.pid),
  });
  const fatal = new Promise<number>((resolve) => (onFatal = resolve)).then(async (code) => (await stopWorkers(), code));
  return Promise.race([
    untilShutdown(async () => {
      if (!(await stopWorkers())) throw new Error('a worker did not stop cleanly');
    }),
    fatal,
  ]);
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

function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
