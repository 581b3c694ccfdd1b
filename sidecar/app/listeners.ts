// Starting the listeners (CONTROL path): which pipeline an inbound exchange goes to (built
// once; the routing itself is data path) — HTTP/2 streams on the GraphQL endpoint's path and
// every HTTP/1.1 request take the GraphQL pipeline, all other HTTP/2 streams the gRPC one, each
// wrapped in its exchange — and listen errors that name the listener and its config key.

import type { HostPort } from '../core/host-port.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { CodecExchange, CodecHttpExchange } from '../proxy/codec-exchange.js';
import type { CodecStreamHandler, Http1Handler } from '../proxy/codec-listener.js';
import { Http1Exchange } from '../proxy/http1-exchange.js';
import type { HttpExchange } from '../proxy/http-exchange.js';

export interface InboundRoutes {
  readonly onStream: CodecStreamHandler;
  readonly onHttp1: Http1Handler | undefined;
}

export function inboundRoutes(grpc: Pipeline<CodecExchange>, graphql: { readonly path: string; readonly pipeline: Pipeline<HttpExchange> } | undefined): InboundRoutes {
  if (graphql === undefined) {
    return { onStream: (stream, headers, head, _end, peer) => grpc.handle(new CodecExchange(stream, headers, head), peer), onHttp1: undefined };
  }
  const { path, pipeline } = graphql;
  const isEndpoint = (target: string): boolean => target.startsWith(path) && (target.length === path.length || target.charCodeAt(path.length) === 0x3f /* ? */);
  return {
    onStream(stream, headers, head, _end, peer) {
      if (isEndpoint(head.path)) pipeline.handle(new CodecHttpExchange(stream, headers, head), peer);
      else grpc.handle(new CodecExchange(stream, headers, head), peer);
    },
    onHttp1: (req, res, peer) => pipeline.handle(new Http1Exchange(req, res), peer),
  };
}

const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use (another process, or another meshward listener)',
  EADDRNOTAVAIL: "the address is not one of this host's addresses",
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

/** Starts a listener; a listen error names the listener, its config key and the address. */
export async function listening<T>(name: string, key: string, at: HostPort, start: () => Promise<T>): Promise<T> {
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
