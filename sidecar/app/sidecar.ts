// Assembles one sidecar process from a validated config (CONTROL path, once at startup): the
// stores (policies, workload identity, GraphQL schema, catalog declarations) and the snapshots
// they publish to the data path, telemetry and the audit log, the API catalog and the alerts,
// the admin endpoints, the pipelines of each listener with their filters (chains.ts) and
// forwarders, the listeners — and the one ordered teardown.

import type { AddressInfo } from 'node:net';
import { adminTlsFor, startAdminServer, type AdminServer, type AdminState } from '../admin/admin-server.js';
import { overviewOf } from '../admin/overview.js';
import { createAlerts, type Alerts } from '../alerts/alerts.js';
import { createCatalog, type Catalog } from '../catalog/catalog.js';
import { EMPTY_DECLARATIONS } from '../catalog/declarations-model.js';
import type { SidecarConfig } from '../config/schema.js';
import { formatAddress } from '../core/host-port.js';
import { log } from '../core/log.js';
import { jwtAuthnFilterFor } from '../filters/jwt-authn-filter.js';
import { undeclaredFilter } from '../filters/undeclared-filter.js';
import { IdentityStore } from '../identity/identity-store.js';
import { describeRules } from '../policy/describe-rule.js';
import type { PolicySnapshot } from '../policy/model.js';
import { PolicyStore } from '../policy/policy-store.js';
import { validationProblems } from '../validation/validation-problems.js';
import { validationFilter } from '../filters/validation-filter.js';
import { CallObservers } from '../pipeline/observers.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { H2UpstreamPool } from '../h2/upstream-pool.js';
import type { CodecExchange } from '../proxy/codec-exchange.js';
import { CodecGrpcForwarder } from '../proxy/codec-grpc-forwarder.js';
import { startCodecListener, type Listener } from '../proxy/codec-listener.js';
import type { GraphqlForwarder } from '../proxy/graphql-forwarder.js';
import type { HttpExchange } from '../proxy/http-exchange.js';
import { OutboundRoutes } from '../proxy/outbound-routes.js';
import { logReachability, upstreamH2Options } from '../proxy/upstream-options.js';
import { openAuditLog, type AuditSink } from '../telemetry/audit-log.js';
import { auditObserver } from '../telemetry/audit-record.js';
import { InflightCalls } from '../telemetry/inflight-calls.js';
import { TapHub } from '../tap/tap-hub.js';
import { renderTapMetrics } from '../tap/tap-metrics.js';
import { relaxedDefaults } from './relaxed-defaults.js';
import { inboundChains, outboundChain } from './chains.js';
import { configView } from './config-view.js';
import { createLimits, type Limits, type WorkerShare } from './limits.js';
import { inboundRoutes, listening } from './listeners.js';
import { DataSnapshots } from './snapshots.js';
import { effectiveTracing, startTelemetry, type Telemetry } from './telemetry.js';
import { Teardown } from './teardown.js';

export { relaxedDefaults } from './relaxed-defaults.js';

export interface RunningSidecar {
  readonly inbound: AddressInfo;
  readonly admin: AddressInfo;
  readonly outbound: AddressInfo | undefined;
  /** Reopens the audit log file (SIGHUP, after log rotation). */
  reopenLogs(): void;
  /** Graceful stop: not ready, stop accepting, drain in-flight calls (bounded). */
  stop(): Promise<void>;
}

/** How a worker process (`workers` > 1, app/primary.ts) runs: the primary serves admin, limits are shared. */
export interface SidecarOptions {
  /** Serves the admin endpoints' state; default: the admin listener at `admin.listen`. */
  readonly serveAdmin?: (state: AdminState) => Promise<AdminServer>;
  readonly workers?: WorkerShare;
  /** This worker's number (1..N) when `workers` > 1: its catalog state file is `<stateFile>.<n>`. */
  readonly worker?: number;
  /** Where audit records go; default: the audit log of `audit.file` (a worker forwards them to the primary). */
  readonly audit?: AuditSink & { close?(): Promise<void> };
}

/** Upstream pools and routes get this long to finish their streams after the listeners drained. */
const UPSTREAM_CLOSE_MS = 1000;

/** Throws PolicyLoadError / SchemaLoadError for invalid policies or schema (exit 2), other errors for the rest (exit 1). */
export async function startSidecar(config: SidecarConfig, opts: SidecarOptions = {}): Promise<RunningSidecar> {
  const identities = new IdentityStore(config.identity);
  const identity = identities.current;
  // GraphQL (graphql-js loaded only when configured): the app's schema, loaded before anything
  // starts (an invalid one is exit 2, like policies).
  const graphqlConfig = config.inbound.graphql;
  const graphqlParts = graphqlConfig && (await import('./graphql.js'));
  const schema = graphqlConfig && graphqlParts && new graphqlParts.SchemaStore(graphqlConfig.schemaFile);
  // The API catalog's declarations (DESIGN §8); the .proto parser is loaded only when needed.
  const catalogSources = { protos: config.catalog.protos, graphqlSchemaFile: graphqlConfig?.schemaFile };
  const declarations =
    catalogSources.protos.length > 0 || catalogSources.graphqlSchemaFile !== undefined
      ? await (await import('../catalog/declarations.js')).openDeclarations(catalogSources)
      : undefined;
  // Message validation (DESIGN §9; protovalidate loaded only with catalog.protos): policies are
  // checked against the declarations, so a `validate` rule naming an undeclared method is refused.
  const validation =
    declarations !== undefined && declarations.current.grpcDeclared
      ? new (await import('../validation/message-validation.js')).MessageValidation(declarations)
      : undefined;
  const policies = new PolicyStore(config.policies, config.jwt.providers.map((p) => p.name), (docs) => validationProblems(docs, validation?.compiled()));
  if (validation !== undefined) {
    validation.prepare(policies.current);
    policies.onReload((result) => {
      if (result === 'ok') validation.prepare(policies.current);
    });
    // New protos: the policies are checked again (a reload that fails keeps the old ones and
    // reports why in /policies) and the validators compiled for the new descriptors.
    declarations!.onReload((result) => {
      if (result !== 'ok') return;
      policies.reload();
      validation.prepare(policies.current);
    });
  }
  const localAudit = opts.audit === undefined ? openAuditLog(config.audit) : undefined;
  const audit = opts.audit ?? localAudit!;
  const relaxed = relaxedDefaults(config);
  for (const r of relaxed) log.warn(`INSECURE DEFAULT RELAXED: ${r}`);

  let draining = false;
  let inboundUp = false;
  let telemetry: Telemetry | undefined;
  let authn: ReturnType<typeof jwtAuthnFilterFor> | undefined;
  let admin: AdminServer | undefined;
  let pool: H2UpstreamPool | undefined;
  let limits: Limits | undefined;
  let catalog: Catalog | undefined;
  let alerts: Alerts | undefined;
  /** How long queued alerts may take to go out when the sidecar stops: none until it has started. */
  let alertsCloseMs: number | undefined = 0;
  let graphqlForwarder: GraphqlForwarder | undefined;
  let routes: OutboundRoutes | undefined;
  let inbound: Listener | undefined;
  let outbound: Listener | undefined;
  const drainMs = config.shutdown.drainTimeout;
  /** Calls in flight on every listener, so a drain can say how many finished and how many were cut. */
  const inflight = new InflightCalls();
  // Live calls for /tap and the dashboard (DESIGN §12): an observer that costs nothing without subscribers.
  const tap = new TapHub();
  const startedAt = new Date();

  // The one teardown, in stop order; a step whose part never started does nothing.
  const teardown = new Teardown([
    { name: 'not ready', run: () => void (draining = true) },
    { name: 'stop watching files', run: () => (policies.close(), declarations?.close(), identities.close(), schema?.close()) },
    { name: 'drain listeners', run: () => drain() },
    { name: 'outbound routes', run: () => routes?.close(), timeoutMs: UPSTREAM_CLOSE_MS },
    { name: 'outbound connections', run: () => routes?.destroy() },
    { name: 'graphql forwarder', run: () => graphqlForwarder?.close() },
    { name: 'app connections', run: () => pool?.close(), timeoutMs: UPSTREAM_CLOSE_MS },
    { name: 'app connections (cut)', run: () => pool?.destroy() },
    { name: 'jwt authn', run: () => authn?.close() },
    { name: 'limits', run: () => limits?.close() },
    { name: 'alerts', run: () => alerts?.close(alertsCloseMs) }, // queued alerts get a moment on a stop (bounded), none after a failed start
    { name: 'telemetry', run: () => telemetry?.shutdown() }, // spans of the drained calls, bounded
    { name: 'catalog', run: () => catalog?.close() }, // the state file, written one last time
    { name: 'audit log', run: () => audit.close?.() },
    { name: 'admin', run: () => admin?.close() },
  ]);

  async function drain(): Promise<void> {
    const inFlight = inflight.count;
    log.info('draining', { timeoutMs: drainMs, callsInFlight: inFlight });
    await Promise.all([inbound?.close(drainMs), outbound?.close(drainMs)]);
    await new Promise((r) => setImmediate(r)); // streams cut at the timeout report their end first
    log.info('drained', { callsFinished: Math.max(0, inFlight - inflight.count), callsCut: inflight.count });
  }

  try {
    telemetry = await startTelemetry(config, { policies, audit: localAudit, certificateNotAfter: () => identities.current.notAfter });
    authn = jwtAuthnFilterFor(config.jwt.providers, undefined, telemetry.jwtResults);
    const serveAdmin = opts.serveAdmin ?? ((state: AdminState) => startAdminServer(config.admin.listen, state, adminTlsFor(config, identities.current)));
    const metrics = telemetry.metrics;
    const tracing = effectiveTracing(telemetry.settings);
    metrics.addCollector(() => renderTapMetrics(tap.stats));
    // The API catalog (DESIGN §8): observations per method / field and caller, /catalog, its state file.
    const catalogParts = (catalog = createCatalog({
      declarations: declarations ?? { current: EMPTY_DECLARATIONS },
      undeclared: config.catalog.undeclared,
      stateFile: config.catalog.stateFile === undefined || opts.worker === undefined ? config.catalog.stateFile : `${config.catalog.stateFile}.${opts.worker}`,
      zombieAfterMs: config.catalog.zombieAfter,
      identity: identity.spiffeId,
      service: telemetry.settings.serviceName,
    }));
    catalogParts.start();
    metrics.addCollector(catalogParts.metrics);
    // Alerts (DESIGN §10): detectors over the calls each caller makes, evaluated on a timer.
    const alertParts = (alerts = createAlerts(config.alerts, {
      service: telemetry.settings.serviceName,
      failMode: config.rateLimit.redis.failMode,
      certificate: () => identities.current,
      limitStore: () => limits?.storeStatus(),
      declarations,
    }));
    metrics.addCollector(alertParts.metrics);
    // The GraphQL schema is policy input too (field rules and cost): its version and last error go here.
    const policyStatus = () => (schema === undefined ? policies.status() : { ...policies.status(), graphqlSchema: schema.status() });
    admin = await listening('admin', 'admin.listen', config.admin.listen, () =>
      serveAdmin({
        notReadyReasons: () => [...(draining ? ['draining'] : []), ...(inboundUp ? [] : ['inbound listener not started'])],
        config: () => configView(config, { relaxedDefaults: relaxed, tracing, identity: identities.current }),
        policies: policyStatus,
        policyRules: () => describeRules(policies.current),
        metrics: () => metrics.render(),
        overview: () =>
          overviewOf({
            config,
            identity: () => identities.current,
            policies: policyStatus,
            tap: () => tap.stats,
            inboundAddress: () => inbound && formatAddress(inbound.address),
            startedAt,
          }),
        refusals: () => tap.recentRefusals(),
        tap,
        views: { '/catalog': () => catalogParts.view(), '/alerts': () => alertParts.view() },
      }),
    );

    const app = config.inbound.app;
    pool = new H2UpstreamPool({ host: app.host, port: app.port, onReachability: logReachability(`${app.host}:${app.port}`) }, upstreamH2Options);
    limits = await createLimits(config.rateLimit, opts.workers);
    metrics.addCollector(limits.metrics);
    // A shared store (Redis) gets a moment to connect, so the first calls do not time out; a
    // store that stays away is logged and answered by failMode, it does not block startup.
    await limits.connected(2000);
    const snapshots = new DataSnapshots({ policies, schema, registry: limits.registry });

    // Inbound: the gRPC pipeline, and the GraphQL one when configured (chains.ts has both orders).
    const inboundObservers = new CallObservers([
      ...telemetry.inboundObservers,
      auditObserver(audit),
      inflight,
      tap,
      catalogParts.observer,
      ...(alertParts.observer === undefined ? [] : [alertParts.observer]),
    ]);
    const chains = inboundChains({
      maxTimeoutMs: config.inbound.maxTimeout,
      maxHeaderListBytes: config.inbound.limits.maxHeaderListBytes,
      allowAnyAuthenticated: config.inbound.allowAnyAuthenticated,
      authn: authn.filter,
      countRejection: metrics.countRateLimitRejection,
      graphqlPath: graphqlConfig?.path,
      // Only with catalog.protos is a method "undeclared" (undefined: no filter).
      undeclared: config.catalog.protos.length > 0 ? undeclaredFilter(declarations ?? { current: EMPTY_DECLARATIONS }, config.catalog.undeclared) : undefined,
      validation: validation === undefined ? undefined : validationFilter(validation),
    });
    const grpcForwarder = new CodecGrpcForwarder(pool, identity.spiffeId);
    const grpc = new Pipeline<CodecExchange>({
      protocol: 'grpc',
      filters: chains.grpc,
      observers: inboundObservers,
      snapshot: snapshots,
      maxTimeoutMs: config.inbound.maxTimeout,
      forward: (call, exchange) => grpcForwarder.forward(call, exchange),
    });
    let graphql: { path: string; pipeline: Pipeline<HttpExchange> } | undefined;
    if (graphqlConfig !== undefined && graphqlParts !== undefined) {
      const forwarder = (graphqlForwarder = new graphqlParts.GraphqlForwarder(graphqlConfig.app, identity.spiffeId));
      const pipeline = new Pipeline<HttpExchange>({
        protocol: 'graphql',
        filters: chains.graphql,
        observers: inboundObservers,
        snapshot: snapshots,
        maxTimeoutMs: config.inbound.maxTimeout,
        forward: (call, exchange) => forwarder.forward(call, exchange),
      });
      graphql = { path: graphqlConfig.path, pipeline };
    }
    const onInbound = inboundRoutes(grpc, graphql);
    inbound = await listening('inbound', 'inbound.listen', config.inbound.listen, () =>
      startCodecListener({
        listen: config.inbound.listen,
        mtls: config.inbound.mtls,
        trustDomain: config.identity.trustDomain,
        identity,
        limits: config.inbound.limits,
        onStream: onInbound.onStream,
        onHttp1: onInbound.onHttp1,
      }),
    );

    // Outbound: the local app's calls, routed by :authority to remote sidecars over mTLS.
    const outboundConfig = config.outbound;
    if (outboundConfig !== undefined) {
      const outboundRoutes = (routes = new OutboundRoutes(outboundConfig.routes, identities));
      const pipeline = new Pipeline<CodecExchange>({
        protocol: 'grpc',
        filters: outboundChain({ maxTimeoutMs: config.inbound.maxTimeout, maxHeaderListBytes: config.inbound.limits.maxHeaderListBytes, routes: outboundRoutes }),
        observers: new CallObservers([...telemetry.outboundObservers, inflight]),
        snapshot: snapshots,
        maxTimeoutMs: config.inbound.maxTimeout,
        forward: (call, exchange) => outboundRoutes.lookup(exchange.headers.get(':authority'))!.forwarder.forward(call, exchange),
      });
      outbound = await listening('outbound', 'outbound.listen', outboundConfig.listen, () =>
        startCodecListener({
          listen: outboundConfig.listen,
          mtls: 'none',
          trustDomain: config.identity.trustDomain,
          identity,
          limits: config.inbound.limits,
          onStream: inboundRoutes(pipeline, undefined).onStream,
        }),
      );
    }
  } catch (err) {
    await teardown.run();
    throw err;
  }
  const inboundListener = inbound;
  inboundUp = true;
  alertsCloseMs = undefined; // the default bound
  const adminServer = admin;
  identities.onRotate((next) => {
    inboundListener.setIdentity(next);
    adminServer.setIdentity(next);
    routes?.refresh();
  });
  identities.watch();
  policies.watch();
  declarations?.watch();
  schema?.watch();
  log.info('policies loaded', { version: policies.current.version, sources: policies.current.sources.length });
  warnSilentTraps(config, policies.current);
  void authn.checkKeySets(); // warns (not waited for) when a provider's JWKS cannot be fetched

  return {
    inbound: inboundListener.address,
    admin: admin.address,
    outbound: outbound?.address,
    reopenLogs: () => localAudit?.reopen(),
    stop: () => teardown.run(),
  };
}

/** Startup warnings for configs that run but refuse everything. */
function warnSilentTraps(config: SidecarConfig, snapshot: PolicySnapshot): void {
  if (snapshot.grpc.length === 0 && snapshot.graphql.length === 0 && !config.inbound.allowAnyAuthenticated) {
    log.warn('no policy rules loaded: every call is denied (default deny); add policy files under `policies`', { policies: config.policies });
  }
}
