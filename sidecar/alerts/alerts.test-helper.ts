// Test helper for the alerts (tests and benchmarks; never imported by the sidecar): the real schema, policy, method labels,
// observer, evaluator and book on a manual clock, and calls described by what happened to them.

import { EMPTY_DECLARATIONS, type Declarations, type MethodDeclaration } from '../catalog/declarations-model.js';
import { parseConfig } from '../config/load.js';
import type { Rejection } from '../core/filter.js';
import { decide, fakeCall, outcome, snapshotOf } from '../telemetry/call-fixtures.test-helper.js';
import type { StoreStatus } from '../ratelimit/redis-store.js';
import { createAlerts, type Alerts, type AlertView } from './alerts.js';
import type { CertificateFacts } from './certificate-expiry-detector.js';

export const ORDERS = 'spiffe://cluster.local/ns/shop/sa/orders';
export const FRONTEND = 'spiffe://cluster.local/ns/web/sa/frontend';
export const BATCH = 'spiffe://cluster.local/ns/jobs/sa/batch';
export const GET_ORDER = 'shop.v1.Orders/GetOrder';
export const DELETE_ORDER = 'shop.v1.Orders/DeleteOrder';

const POLICY = `apiVersion: meshward.dev/v1alpha1
kind: Policy
metadata: { name: orders }
spec:
  grpc:
    - methods: ["shop.v1.Orders/GetOrder"]
      allow: [ { principals: ["spiffe://cluster.local/ns/web/*", "spiffe://cluster.local/ns/jobs/*"] } ]
    - methods: ["shop.v1.Orders/DeleteOrder"]
      allow: [ { principals: ["spiffe://cluster.local/ns/ops/*"] } ]
`;

const HOUR = 3_600_000;

export interface CallSpec {
  /** Refuse the call with this reason (e.g. jwt_bad_signature) instead of what the policy says. */
  readonly reason?: string;
  readonly traceId?: string;
}

export class AlertsHarness {
  readonly clock = { t: 1_800_000_000_000 };
  cert: CertificateFacts = { spiffeId: ORDERS, notBefore: this.clock.t - HOUR, notAfter: this.clock.t + 99 * HOUR };
  store: StoreStatus | undefined;
  readonly alerts: Alerts;
  readonly snapshot = snapshotOf(POLICY);

  /** catalog.protos as the harness declares it: GetOrder, and DeleteOrder deprecated; the GraphQL SDL: Order.total deprecated. */
  declarations: Declarations = {
    ...EMPTY_DECLARATIONS,
    version: 'test-1',
    grpcDeclared: true,
    methods: new Map([
      [GET_ORDER, { name: GET_ORDER, deprecated: false, file: 'shop/v1/orders.proto' } as MethodDeclaration],
      [DELETE_ORDER, { name: DELETE_ORDER, deprecated: true, file: 'shop/v1/orders.proto' } as MethodDeclaration],
    ]),
    graphqlFields: new Map([
      ['Query.order', { name: 'Query.order', deprecated: false, deprecationReason: undefined }],
      ['Order.total', { name: 'Order.total', deprecated: true, deprecationReason: 'Use totalCents.' }],
    ]),
  };

  constructor(alertsYaml: string, extraYaml = '', opts: { catalog?: boolean } = {}) {
    const text = `apiVersion: meshward.dev/v1alpha1
kind: Sidecar
identity: { trustDomain: cluster.local, certFile: tls.crt, keyFile: tls.key, caFile: ca.crt }
inbound: { app: "127.0.0.1:8080" }
${extraYaml}
alerts:
${alertsYaml.replace(/^/gm, '  ')}
`;
    const config = parseConfig(text, '/tmp/meshward-alerts-test/meshward.yaml');
    const self = this; // the declarations getter reads the current field
    this.alerts = createAlerts(config.alerts, {
      service: 'orders',
      failMode: config.rateLimit.redis.failMode,
      certificate: () => this.cert,
      limitStore: () => this.store,
      declarations: opts.catalog === true ? { get current() { return self.declarations; } } : undefined,
      now: () => this.clock.t,
    });
  }

  /** `n` calls of `principal` to `method`, each decided by the policy (or refused with `spec.reason`). */
  call(principal: string, method: string, n = 1, spec: CallSpec = {}): void {
    for (let i = 0; i < n; i++) {
      const ctx = fakeCall(`/${method}`, {}, principal);
      let rejection: Rejection | undefined = decide(ctx, this.snapshot);
      if (spec.reason !== undefined) rejection = { code: 'UNAUTHENTICATED', reason: spec.reason };
      ctx.rejection = rejection;
      if (spec.traceId !== undefined) ctx.trace = { traceId: spec.traceId, spanId: '00f067aa0ba902b7', sampled: true, appHeaders: {} };
      this.alerts.observer!.ended!(ctx, outcome(rejection === undefined ? 0 : 7));
    }
  }

  /** `n` allowed GraphQL calls of `principal` selecting the field coordinates (`Type.field`). */
  graphqlCall(principal: string, coordinates: readonly string[], n = 1): void {
    for (let i = 0; i < n; i++) {
      const ctx = fakeCall('/graphql', {}, principal);
      (ctx as { protocol: string }).protocol = 'graphql';
      ctx.graphql = { operationType: 'query', operationName: undefined, cost: 1, operations: 1, fieldSets: [new Map(coordinates.map((c) => [c, c]))] };
      this.alerts.observer!.ended!(ctx, outcome(undefined, { httpStatus: 200 }));
    }
  }

  /** Moves the clock and evaluates. */
  advance(ms: number): void {
    this.clock.t += ms;
    this.alerts.evaluate();
  }

  active(alertname?: string): AlertView[] {
    return this.alerts.view().alerts.filter((a) => alertname === undefined || a.labels.alertname === alertname);
  }

  close(): Promise<void> {
    return this.alerts.close(0);
  }
}
