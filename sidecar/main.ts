// Process assembly (control path): load identity and policies, start the admin and
// inbound listeners, watch policies, and drain on shutdown. The request path itself
// lives in proxy/ (inbound-pipeline.ts has the filter order).

import type { AddressInfo } from 'node:net';
import { adminTlsFor, startAdminServer, type AdminServer, type AdminState } from './admin/admin-server.js';
import { configView } from './admin/config-view.js';
import { overviewOf } from './admin/overview.js';
import { jwtAuthnFilterFor } from './authn/jwt-authn-filter.js';
import { createCatalog } from './catalog/catalog.js';
import { EMPTY_DECLARATIONS } from './catalog/declarations-model.js';
import type { HostPort, SidecarConfig } from './config/schema.js';
import { log } from './core/log.js';
import { IdentityStore } from './identity/identity-store.js';
import { describeRules } from './policy/describe-rule.js';
import { PolicyStore } from './policy/policy-store.js';
import { validationProblems } from './validation/validation-problems.js';
import { GrpcForwarder } from './proxy/grpc-forwarder.js';
import { createInboundPipeline } from './proxy/inbound-pipeline.js';
import { startInboundListener, type InboundListener } from './proxy/inbound-listener.js';
import { createOutboundPipeline } from './proxy/outbound-pipeline.js';
import { OutboundRoutes } from './proxy/outbound-routes.js';
import { UpstreamPool } from './proxy/upstream-pool.js';
import { createLimits, type WorkerShare } from './ratelimit/limits.js';
import { openAuditLog, type AuditSink } from './telemetry/audit-log.js';
import { auditObserver } from './telemetry/audit-record.js';
import { InflightCalls } from './telemetry/inflight-calls.js';
import { effectiveTracing, startTelemetry } from './telemetry/telemetry.js';
import { TapHub } from './tap/tap-hub.js';
import { renderTapMetrics } from './tap/tap-metrics.js';

export interface RunningSidecar {
  readonly inbound: AddressInfo;
  readonly admin: AddressInfo;
  readonly outbound: AddressInfo | undefined;
  /** Reopens the audit log file (SIGHUP, after log rotation). */
  reopenLogs(): void;
  /** Graceful stop: not ready, stop accepting, drain in-flight calls (bounded). */
  stop(): Promise<void>;
}

/** Secure defaults the config relaxes; logged at startup and shown in /config (DESIGN §4). */
export function relaxedDefaults(config: SidecarConfig): string[] {
  const relaxed: string[] = [];
  if (config.inbound.allowAnyAuthenticated) relaxed.push('inbound.allowAnyAuthenticated: calls no policy rule matches are allowed for any verified SPIFFE ID');
  if (config.inbound.mtls === 'permissive') relaxed.push('inbound.mtls: permissive: plaintext callers are accepted as unauthenticated');
  if (config.rateLimit.store === 'redis' && config.rateLimit.redis.failMode === 'open') relaxed.push('rateLimit.redis.failMode: open');
  if (config.catalog.protos.length > 0 && config.catalog.undeclared !== 'deny') {
    relaxed.push(`catalog.undeclared: ${config.catalog.undeclared}: calls to gRPC methods not declared in catalog.protos are ${config.catalog.undeclared === 'audit' ? 'forwarded and audited' : 'forwarded'}`);
  }
  return relaxed;
}

/** How a worker process (`workers` > 1, cli/workers.ts) runs: the primary serves admin, limits are shared. */
export interface SidecarOptions {
  /** Serves the admin endpoints' state; default: the admin listener at `admin.listen`. */
  readonly serveAdmin?: (state: AdminState) => Promise<AdminServer>;
  readonly workers?: WorkerShare;
  /** This worker's number (1..N) when `workers` > 1: its catalog state file is `<stateFile>.<n>`. */
  readonly worker?: number;
  /** Where audit records go; default: the audit log of `audit.file` (a worker forwards them to the primary). */
  readonly audit?: AuditSink & { close?(): Promise<void> };
}

/** Throws PolicyLoadError for invalid policies (exit 2), other errors for the rest (exit 1). */
export async function startSidecar(config: SidecarConfig, opts: SidecarOptions = {}): Promise<RunningSidecar> {
  const identities = new IdentityStore(config.identity);
  const identity = identities.current;
  // GraphQL (graphql-js loaded only when configured): the app's schema, loaded before anything
  // starts (an invalid one is exit 2, like policies).
  const graphqlConfig = config.inbound.graphql;
  const graphqlModule = graphqlConfig && (await import('./graphql/graphql-endpoint.js'));
  const graphqlSchema = graphqlConfig && graphqlModule && new graphqlModule.SchemaStore(graphqlConfig.schemaFile);
  // The API catalog's declarations (DESIGN §8); the .proto parser is loaded only when needed.
  const catalogSources = { protos: config.catalog.protos, graphqlSchemaFile: graphqlConfig?.schemaFile };
  const declarations =
    catalogSources.protos.length > 0 || catalogSources.graphqlSchemaFile !== undefined
      ? await (await import('./catalog/declarations.js')).openDeclarations(catalogSources)
      : undefined;
  // Message validation (DESIGN §9; protovalidate loaded only with catalog.protos): policies are
  // checked against the declarations, so a `validate` rule naming an undeclared method is refused.
  const validation =
    declarations !== undefined && declarations.current.grpcDeclared
      ? new (await import('./validation/message-validation.js')).MessageValidation(declarations)
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
  const telemetry = await startTelemetry(config, { policies, audit: localAudit, certificateNotAfter: () => identities.current.notAfter });
  const catalog = createCatalog({
    declarations: declarations ?? { current: EMPTY_DECLARATIONS },
    undeclared: config.catalog.undeclared,
    grpcDeclared: config.catalog.protos.length > 0,
    stateFile: config.catalog.stateFile === undefined || opts.worker === undefined ? config.catalog.stateFile : `${config.catalog.stateFile}.${opts.worker}`,
    zombieAfterMs: config.catalog.zombieAfter,
    identity: identity.spiffeId,
    service: telemetry.settings.serviceName,
  });
  catalog.start();
  telemetry.metrics.addCollector(catalog.metrics);
  const authn = jwtAuthnFilterFor(config.jwt.providers, undefined, telemetry.jwtResults);
  let draining = false;
  let inboundUp = false;

  const relaxed = relaxedDefaults(config);
  for (const r of relaxed) log.warn(`INSECURE DEFAULT RELAXED: ${r}`);

  // Live calls for /tap and the dashboard (DESIGN §12): an observer that costs nothing without subscribers.
  const tap = new TapHub();
  telemetry.metrics.addCollector(() => renderTapMetrics(tap.stats));
  // The GraphQL schema is policy input too (field rules and cost): its version and last error go here.
  const policyStatus = () => (graphqlSchema === undefined ? policies.status() : { ...policies.status(), graphqlSchema: graphqlSchema.status() });
  const startedAt = new Date();
  let started: InboundListener | undefined;

  const serveAdmin = opts.serveAdmin ?? ((state: AdminState) => startAdminServer(config.admin.listen, state, adminTlsFor(config, identities.current)));
  const admin = await listening('admin', 'admin.listen', config.admin.listen, () => serveAdmin({
    notReadyReasons: () => [...(draining ? ['draining'] : []), ...(inboundUp ? [] : ['inbound listener not started'])],
    config: () => configView(config, { relaxedDefaults: relaxed, tracing: effectiveTracing(telemetry.settings), identity: identities.current }),
    policies: policyStatus,
    policyRules: () => describeRules(policies.current),
    metrics: () => telemetry.metrics.render(),
    overview: () =>
      overviewOf({
        config,
        identity: () => identities.current,
        policies: policyStatus,
        tap: () => tap.stats,
        inboundAddress: () => started && formatAddress(started.address),
        startedAt,
      }),
    refusals: () => tap.recentRefusals(),
    tap,
    views: { '/catalog': () => catalog.view() },
  }));

  const pool = new UpstreamPool(config.inbound.app);
  const limits = await createLimits(config.rateLimit, opts.workers);
  telemetry.metrics.addCollector(limits.metrics);
  // A shared store (Redis) gets a moment to connect, so the first calls do not time out; a
  // store that stays away is logged and answered by failMode, it does not block startup.
  await limits.connected(2000);
  const inflight = new InflightCalls();
  const inboundObservers = [...telemetry.inboundObservers, auditObserver(audit, policies), limits.observer, inflight, tap, catalog.observer];
  const graphql =
    graphqlConfig &&
    graphqlModule &&
    graphqlSchema &&
    graphqlModule.createGraphqlEndpoint(graphqlConfig, graphqlSchema, config.inbound.maxTimeout, {
      policies,
      authn: authn.filter,
      limits,
      observers: inboundObservers,
      localId: identity.spiffeId,
      maxHeaderListBytes: config.inbound.limits.maxHeaderListBytes,
    });
  const grpcStreams = createInboundPipeline({
    maxTimeoutMs: config.inbound.maxTimeout,
    maxHeaderListBytes: config.inbound.limits.maxHeaderListBytes,
    allowAnyAuthenticated: config.inbound.allowAnyAuthenticated,
    authn: authn.filter,
    undeclared: catalog.filter,
    policies,
    limits: limits.filter,
    validation: validation?.filter(),
    observers: inboundObservers,
    forwarder: new GrpcForwarder(pool, identity.spiffeId),
  });
  const onStream = graphql === undefined ? grpcStreams : graphql.route(grpcStreams);
  const routes = config.outbound === undefined ? undefined : new OutboundRoutes(config.outbound.routes, identities);
  let outbound: InboundListener | undefined;
  try {
    started = await listening('inbound', 'inbound.listen', config.inbound.listen, () => startInboundListener({
      listen: config.inbound.listen,
      mtls: config.inbound.mtls,
      trustDomain: config.identity.trustDomain,
      identity,
      limits: config.inbound.limits,
      onStream,
      onHttp1: graphql?.onHttp1,
    }));
    const outboundConfig = config.outbound;
    if (outboundConfig !== undefined && routes !== undefined) {
      outbound = await listening('outbound', 'outbound.listen', outboundConfig.listen, () => startInboundListener({
        listen: outboundConfig.listen,
        mtls: 'none',
        trustDomain: config.identity.trustDomain,
        identity,
        limits: config.inbound.limits,
        onStream: createOutboundPipeline({
          maxTimeoutMs: config.inbound.maxTimeout,
          maxHeaderListBytes: config.inbound.limits.maxHeaderListBytes,
          routes,
          observers: [...telemetry.outboundObservers, inflight],
        }),
      }));
    }
  } catch (err) {
    await started?.close(0);
    graphql?.close();
    declarations?.close();
    await catalog.close();
    await admin.close();
    pool.destroy();
    routes?.destroy();
    authn.close();
    await limits.close();
    await telemetry.shutdown(1000);
    throw err;
  }
  const inbound = started;
  inboundUp = true;
  identities.onRotate((next) => {
    inbound.setIdentity(next);
    admin.setIdentity(next);
    routes?.refresh();
  });
  identities.watch();
  policies.watch();
  declarations?.watch();
  log.info('policies loaded', { version: policies.current.version, sources: policies.current.sources.length });
  warnSilentTraps(config, policies.current);
  void authn.checkKeySets(); // warns (not waited for) when a provider's JWKS cannot be fetched

  let stopping: Promise<void> | undefined;
  return {
    inbound: inbound.address,
    admin: admin.address,
    outbound: outbound?.address,
    reopenLogs: () => localAudit?.reopen(),
    stop() {
      stopping ??= (async () => {
        draining = true;
        policies.close();
        declarations?.close();
        identities.close();
        const inFlight = inflight.count;
        log.info('draining', { timeoutMs: config.shutdown.drainTimeout, callsInFlight: inFlight });
        await Promise.all([inbound.close(config.shutdown.drainTimeout), outbound?.close(config.shutdown.drainTimeout)]);
        await new Promise((r) => setImmediate(r)); // streams cut at the timeout report their end first
        log.info('drained', { callsFinished: Math.max(0, inFlight - inflight.count), callsCut: inflight.count });
        await Promise.race([routes?.close(), new Promise((r) => setTimeout(r, 1000).unref())]);
        routes?.destroy();
        graphql?.close();
        await Promise.race([pool.close(), new Promise((r) => setTimeout(r, 1000).unref())]);
        pool.destroy();
        authn.close();
        await limits.close();
        await telemetry.shutdown(); // spans of the drained calls, bounded
        await catalog.close();
        await audit.close?.();
        await admin.close();
      })();
      return stopping;
    },
  };
}

/** Startup warnings for configs that run but refuse everything (issue: silent traps). */
function warnSilentTraps(config: SidecarConfig, snapshot: { readonly grpc: readonly unknown[]; readonly graphql: readonly unknown[] }): void {
  if (snapshot.grpc.length === 0 && snapshot.graphql.length === 0 && !config.inbound.allowAnyAuthenticated) {
    log.warn('no policy rules loaded: every call is denied (default deny); add policy files under `policies`', { policies: config.policies });
  }
}

const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use (another process, or another meshward listener)',
  EADDRNOTAVAIL: 'the address is not one of this host\'s addresses',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

/** Starts a listener; a listen error names the listener, its config key and the address. */
async function listening<T>(name: string, key: string, at: HostPort, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === undefined ? undefined : LISTEN_ERRORS[code];
    if (why === undefined) throw err;
    const host = at.host.includes(':') ? `[${at.host}]` : at.host;
    throw new Error(`${name} listener cannot listen on ${host}:${at.port} (${key}): ${why} [${code}]`);
  }
}

export function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
