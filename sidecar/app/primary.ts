// `meshward run` with `workers` > 1 (DESIGN §3), the primary process (CONTROL path): its
// worker pool (worker-pool.ts) runs the whole sidecar N times on shared listeners; the primary
// serves the admin endpoints for all of them (metrics merged), brokers memory rate limits,
// writes the audit log — one hash chain for all workers (records carry `worker`; docs/audit.md)
// — and drains every worker on SIGTERM/SIGINT. No call passes through it.

import { isLoopbackHost } from '../admin/admin-access.js';
import { adminTlsFor, startAdminServer } from '../admin/admin-server.js';
import type { AlertsView } from '../alerts/alerts.js';
import { mergeCatalogViews } from '../catalog/catalog-merge.js';
import type { CatalogView } from '../catalog/catalog-view.js';
import type { SidecarConfig } from '../config/schema.js';
import { formatAddress } from '../core/host-port.js';
import { log } from '../core/log.js';
import { IdentityStore } from '../identity/identity-store.js';
import { TokenBroker } from '../ratelimit/token-broker.js';
import type { TapEvent } from '../tap/tap-event.js';
import { TapHub } from '../tap/tap-hub.js';
import { renderTapMetrics } from '../tap/tap-metrics.js';
import { TapFanIn } from '../tap/tap-relay.js';
import { openAuditLog, type AuditLog } from '../telemetry/audit-log.js';
import { renderSingle } from '../telemetry/metric-family.js';
import { MetricsMerger } from '../telemetry/metrics-merge.js';
import { MAX_KEYS_PER_RULE } from './limits.js';
import { untilShutdown } from './until-shutdown.js';
import { WorkerPool } from './worker-pool.js';

const BROKER_SWEEP_MS = 10_000;
/** Refusals /refusals shows (the newest of all workers'). */
const MAX_REFUSALS = 50;
/** Slot of the primary's own series in the merged /metrics (workers are 1..N). */
const PRIMARY_METRICS_SLOT = 0;

export async function runPrimary(config: SidecarConfig, count: number): Promise<number> {
  const broker = new TokenBroker({ maxKeysPerLimit: MAX_KEYS_PER_RULE });
  const sweeper = setInterval(() => broker.sweep(), BROKER_SWEEP_MS);
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
  // /tap and the dashboard (DESIGN §12): subscribers here, calls relayed by the workers while any.
  // (`pool` is assigned below, before any subscriber can arrive.)
  const tap: TapFanIn = new TapFanIn(new TapHub(), async (on) => void (await pool.questionAll({ mw: 'tap', on })));
  const pool = new WorkerPool({
    config,
    count,
    lease: (req) => broker.lease(req),
    onTapEvents: (batch) => tap.receive(batch),
    onReady: (slot) => {
      if (tap.on) void pool.question(slot, { mw: 'tap', on: true });
    },
    onAudit: (slot, records, dropped) => {
      audit.noteDropped(dropped);
      for (const record of records) audit.write({ ...record, worker: slot });
    },
    onGone: (n) => merger.retire(n),
  });

  /** Each live worker's newest metrics, merged (a worker that does not answer keeps its last). */
  const refreshMetrics = async (): Promise<void> => {
    await Promise.all(
      pool.slots
        .filter((s) => s.state === 'ready' || s.state === 'stopping')
        .map(async (s) => {
          const { id, reply } = await pool.ask(s, 'metrics');
          if (typeof reply?.value !== 'string' || id < s.metricsId || s.state === 'exited') return;
          s.metricsId = id;
          merger.update(s.n, reply.value);
        }),
    );
  };
  const refusals = async (): Promise<TapEvent[]> => {
    const answers = await Promise.all(pool.slots.filter((s) => s.state === 'ready').map((s) => pool.ask(s, 'refusals')));
    const all = answers.flatMap((a) => (Array.isArray(a.reply?.value) ? (a.reply.value as TapEvent[]) : []));
    return all.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, MAX_REFUSALS);
  };
  // Each worker detects on the calls it serves (alerts/): one list, an alert once per fingerprint.
  const alertsOfAll = async (): Promise<unknown> => {
    const answers = await Promise.all(pool.slots.filter((s) => s.state === 'ready').map(async (s) => ({ n: s.n, value: (await pool.ask(s, 'alerts')).reply?.value as AlertsView | undefined })));
    const alerts = new Map<string, AlertsView['alerts'][number]>();
    for (const a of answers) for (const alert of a.value?.alerts ?? []) if (!alerts.has(alert.fingerprint)) alerts.set(alert.fingerprint, alert);
    return {
      enabled: answers.some((a) => a.value?.enabled === true),
      alerts: [...alerts.values()],
      workers: answers.map((a) => ({ worker: a.n, receivers: a.value?.receivers ?? [], pairs: a.value?.pairs ?? 0 })),
    };
  };
  // Every ready worker's observations, one sidecar: peaks add up (the workers share limits).
  const catalogOfAll = async (): Promise<unknown> => {
    const answers = await Promise.all(pool.slots.filter((s) => s.state === 'ready').map((s) => pool.ask(s, 'catalog')));
    const views = answers.flatMap(({ reply }) => (reply?.value === undefined || reply.error !== undefined ? [] : [reply.value as CatalogView]));
    if (views.length === 0) throw new Error('no worker answered');
    return { ...mergeCatalogViews(views, 'sum'), sources: views[0]!.sources };
  };
  // Off loopback the admin listener serves TLS with the workload identity (rotated like the workers').
  const identities = isLoopbackHost(config.admin.listen.host) ? undefined : new IdentityStore(config.identity);
  const admin = await startAdminServer(
    config.admin.listen,
    {
    notReadyReasons: () => (pool.draining ? ['draining'] : pool.readyCount === 0 ? ['no worker ready'] : []),
    config: () => pool.askAny('config'),
    policies: () => pool.askAny('policies'),
    policyRules: () => pool.askAny('policyRules'),
    overview: async () => ({ ...((await pool.askAny('overview')) as object), tap: tap.hub.stats }),
    refusals,
    tap,
    metrics: async () => {
      await refreshMetrics();
      // The primary's tap subscribers, summed with the workers' relay drops.
      merger.update(PRIMARY_METRICS_SLOT, renderTapMetrics(tap.hub.stats));
      return (
        merger.render() +
        renderSingle('meshward_workers', 'Worker processes ready to serve (config workers).', 'gauge', pool.readyCount) +
        renderSingle('meshward_audit_records_written_total', 'Audit records written.', 'counter', audit.stats.written) +
        renderSingle('meshward_audit_records_dropped_total', 'Audit records dropped because the destination fell behind.', 'counter', audit.stats.dropped) +
        renderSingle('meshward_worker_restarts_total', 'Workers restarted after exiting unexpectedly.', 'counter', pool.restarts)
      );
    },
    views: {
      '/alerts': alertsOfAll,
      '/catalog': catalogOfAll,
      '/workers': async () => {
        await refreshMetrics();
        return pool.slots.map((s) => ({
          worker: s.n,
          pid: s.worker?.process.pid ?? null,
          state: s.state,
          calls: merger.total(s.n, 'meshward_requests_total'),
        }));
      },
    },
    },
    identities === undefined ? undefined : adminTlsFor(config, identities.current),
  );
  identities?.onRotate((next) => admin.setIdentity(next));
  identities?.watch();
  /** The primary's teardown: the workers drain first, then its own parts. */
  const stop = async (): Promise<boolean> => {
    const clean = await pool.stop();
    clearInterval(sweeper);
    identities?.close();
    await audit.close();
    await admin.close();
    return clean;
  };

  const startCode = await pool.start();
  if (startCode !== 0) {
    await stop();
    return startCode;
  }
  process.on('SIGHUP', () => {
    log.info('reopening log files', { signal: 'SIGHUP' });
    audit.reopen();
    pool.signal('SIGHUP');
  });
  const first = pool.slots[0]!;
  log.info('meshward ready', {
    inbound: first.inbound,
    admin: formatAddress(admin.address),
    ...(first.outbound === undefined ? {} : { outbound: first.outbound }),
    pid: process.pid,
    workers: count,
    workerPids: pool.slots.map((s) => s.worker?.process.pid),
  });
  return Promise.race([
    untilShutdown(async () => {
      if (!(await stop())) throw new Error('a worker did not stop cleanly');
    }),
    pool.fatal.then(async (code) => (await stop(), code)),
  ]);
}
