// A pass-through relay on the own codec for tests (tests only): h2c in, every request
// relayed to one upstream with its headers as received. The sidecar's forwarder adds
// identity, deadlines and limits on top of the same parts.

import net, { type AddressInfo } from 'node:net';
import { H2Connection } from '../connection.js';
import { h2Options, type H2Options } from '../options.js';
import { StreamRelay } from '../stream-relay.js';
import { H2UpstreamPool } from '../upstream-pool.js';

export interface RelayServer {
  readonly port: number;
  readonly pool: H2UpstreamPool;
  readonly connections: H2Connection[];
  readonly relays: Set<StreamRelay>;
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

export async function startRelayServer(appPort: number, overrides: Partial<H2Options> = {}): Promise<RelayServer> {
  const options = h2Options(overrides);
  const pool = new H2UpstreamPool({ host: '127.0.0.1', port: appPort }, options);
  const connections: H2Connection[] = [];
  const relays = new Set<StreamRelay>();
  const server = net.createServer((socket) => {
    connections.push(
      new H2Connection(socket, 'server', options, {
        onStream(_conn, stream, headers, _head, endStream) {
          const relay = new StreamRelay(stream, { finished: (r) => relays.delete(r) });
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
