// Free TCP ports for tests that must name a port up front (most listeners take port 0 instead).
// Test support, not part of the sidecar.

import { createServer } from 'node:net';

/** A port that was free a moment ago on `host`: listen on 0, read the port, close. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : port ? resolve(port) : reject(new Error('freePort: no port'))));
    });
  });
}

/** Splits `"host:port"` (IPv6 hosts in brackets) into its parts. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (!m) throw new Error(`not host:port: ${address}`);
  return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}
