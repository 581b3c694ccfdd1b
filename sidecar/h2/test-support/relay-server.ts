// A pass-through relay on the own codec for tests (tests only): h2c in, every request
// relayed to one upstream with its headers as received. The sidecar's forwarder adds
// identity, deadlines and limits on top of the same parts.

import net, { type AddressInfo } from 'node:net';
import { H2Connection } from '../connection.js';
import { h2Options, type H2Options } from '../options.js';
import { StreamRelay, type RelayHooks } from '../stream-relay.js';
import { H2UpstreamPool } from '../upstream-pool.js';

export interface RelayServer {
  readonly port: number;
  readonly pool: H2UpstreamPool;
  readonly connections: H2Connection[];
  readonly relays: Set<StreamRelay<number>>;
  close(): Promise<void>;
}

/** Upstream request fields: the caller's, with :scheme http (h2c to the app). */
export function passThroughFields(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    out.push(name, name === ':scheme' ? 'http' : headers[i + 1]!);
  }
  return out;
}

/** Body hooks for a call; `answer` ends it with a gRPC status (as the forwarder's refusal does). */
export type HooksFor = (headers: string[], answer: (grpcStatus: number) => void) => Omit<RelayHooks<number>, 'refused'> | undefined;

export async function startRelayServer(appPort: number, overrides: Partial<H2Options> = {}, hooksFor?: HooksFor): Promise<RelayServer> {
  const options = h2Options(overrides);
  const pool = new H2UpstreamPool({ host: '127.0.0.1', port: appPort }, options);
  const connections: H2Connection[] = [];
  const relays = new Set<StreamRelay<number>>();
  const server = net.createServer((socket) => {
    connections.push(
      new H2Connection(socket, 'server', options, {
        onStream(_conn, stream, headers, _head, endStream) {
          let relay: StreamRelay<number> | undefined;
          const answer = (status: number): void => {
            const headersOnly = [':status', '200', 'content-type', 'application/grpc', 'grpc-status', String(status)];
            relay?.abort({ headersOnly, trailers: ['grpc-status', String(status)] });
          };
          const hooks = hooksFor?.(headers, answer);
          relay = new StreamRelay<number>(stream, { finished: (r) => relays.delete(r) }, hooks && { ...hooks, refused: answer });
          relays.add(relay);
          relay.start(pool, passThroughFields(headers), endStream);
        },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    pool,
    connections,
    relays,
    async close() {
      for (const c of connections) c.destroy();
      pool.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
