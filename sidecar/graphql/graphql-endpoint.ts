// Assembles the GraphQL endpoint of the inbound listener (CONTROL path, once at startup):
// the schema store, the forwarder to the app's GraphQL server, and the handler — reached from
// HTTP/2 streams on the endpoint's path and from every HTTP/1.1 request.

import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { SidecarConfig } from '../config/schema.js';
import type { CallInfo, Filter } from '../core/filter.js';
import type { CallObserver } from '../core/observer.js';
import { identityFilter } from '../identity/identity-filter.js';
import type { PeerIdentity } from '../identity/peer-identity.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { Http1Handler } from '../proxy/inbound-listener.js';
import type { StreamHandler } from '../proxy/pipeline.js';
import type { Limits } from '../ratelimit/limits.js';
import { http1Exchange, http2Exchange } from './graphql-exchange.js';
import { GraphqlForwarder } from './graphql-forwarder.js';
import { createGraphqlHandler } from './graphql-handler.js';
import { headerSizeFilter } from './header-size-filter.js';
import { SchemaStore, type SchemaStatus } from './schema-store.js';

export { SchemaStore } from './schema-store.js';

export interface GraphqlEndpointDeps {
  readonly policies: PolicyStore;
  readonly authn: Filter<CallInfo>;
  readonly limits: Pick<Limits, 'take'>;
  readonly observers: readonly CallObserver[];
  /** This workload's SPIFFE ID (x-forwarded-client-cert `By=`). */
  readonly localId: string;
  /** inbound.limits.maxHeaderListBytes: larger requests are answered 431. */
  readonly maxHeaderListBytes: number;
}

export interface GraphqlEndpoint {
  /** Sends HTTP/2 streams on the endpoint's path to GraphQL, the rest to `grpc`. */
  route(grpc: StreamHandler): StreamHandler;
  readonly onHttp1: Http1Handler;
  readonly schema: SchemaStore;
  status(): SchemaStatus;
  close(): void;
}

/** `schema`: loaded first (`new SchemaStore(schemaFile)` throws SchemaLoadError for an invalid file: exit 2). */
export function createGraphqlEndpoint(
  config: NonNullable<SidecarConfig['inbound']['graphql']>,
  schema: SchemaStore,
  maxTimeoutMs: number,
  deps: GraphqlEndpointDeps,
): GraphqlEndpoint {
  const forwarder = new GraphqlForwarder(config.app, deps.localId);
  const handler = createGraphqlHandler({
    path: config.path,
    policies: deps.policies,
    analyzer: () => schema.analyzer,
    filters: [headerSizeFilter(deps.maxHeaderListBytes), identityFilter(), deps.authn],
    take: deps.limits.take,
    observers: deps.observers,
    forwarder,
    maxTimeoutMs,
  });
  const path = config.path;
  const isEndpoint = (target: string | undefined): boolean =>
    target !== undefined && target.startsWith(path) && (target.length === path.length || target.charCodeAt(path.length) === 0x3f /* ? */);
  schema.watch();
  return {
    route: (grpc) => (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[], peer: PeerIdentity) => {
      if (isEndpoint(headers[':path'])) handler(http2Exchange(stream, headers, rawHeaders), peer);
      else grpc(stream, headers, rawHeaders, peer);
    },
    onHttp1: (req, res, peer) => handler(http1Exchange(req, res), peer),
    schema,
    status: () => schema.status(),
    close() {
      schema.close();
      forwarder.close();
    },
  };
}
