// Which pipeline an inbound exchange goes to (built once; the routing is data path): HTTP/2
// streams on the GraphQL endpoint's path and every HTTP/1.1 request take the GraphQL
// pipeline, all other HTTP/2 streams the gRPC one. The transport wraps each in its exchange.

import type { PeerIdentity } from '../identity/peer-identity.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { H2Exchange, H2HttpExchange } from '../proxy/h2-exchange.js';
import { Http1Exchange } from '../proxy/http1-exchange.js';
import type { HttpExchange } from '../proxy/http-exchange.js';
import type { Http1Handler, StreamHandler } from '../proxy/inbound-listener.js';

export interface InboundRoutes {
  readonly onStream: StreamHandler;
  readonly onHttp1: Http1Handler | undefined;
}

export function inboundRoutes(grpc: Pipeline<H2Exchange>, graphql: { readonly path: string; readonly pipeline: Pipeline<HttpExchange> } | undefined): InboundRoutes {
  if (graphql === undefined) {
    return { onStream: (stream, headers, rawHeaders, peer) => grpc.handle(new H2Exchange(stream, headers, rawHeaders), peer), onHttp1: undefined };
  }
  const { path, pipeline } = graphql;
  const isEndpoint = (target: string | undefined): boolean =>
    target !== undefined && target.startsWith(path) && (target.length === path.length || target.charCodeAt(path.length) === 0x3f /* ? */);
  return {
    onStream(stream, headers, rawHeaders, peer: PeerIdentity) {
      if (isEndpoint(headers[':path'])) pipeline.handle(new H2HttpExchange(stream, headers, rawHeaders), peer);
      else grpc.handle(new H2Exchange(stream, headers, rawHeaders), peer);
    },
    onHttp1: (req, res, peer) => pipeline.handle(new Http1Exchange(req, res), peer),
  };
}
