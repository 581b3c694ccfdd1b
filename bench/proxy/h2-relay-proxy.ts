// The own HTTP/2 codec as a bare relay (sidecar/h2/): the floor of meshward's data plane,
// with no identity, policy, deadline or limits — what the codec alone costs. Benchmark
// target only; run as a forked child:
//   --mode inbound  --app PORT --cert F --key F --ca F            mTLS in → h2c to the app
//   --mode outbound --upstream PORT --cert F --key F --ca F --servername N   h2c in → mTLS out
// → IPC {type:'ready', port}

import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { H2Connection } from '../../sidecar/h2/connection.js';
import { h2Options } from '../../sidecar/h2/options.js';
import { StreamRelay } from '../../sidecar/h2/stream-relay.js';
import { H2UpstreamPool } from '../../sidecar/h2/upstream-pool.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'inbound' },
    app: { type: 'string' },
    upstream: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    ca: { type: 'string' },
    servername: { type: 'string' },
  },
});
const cert = readFileSync(values.cert!);
const key = readFileSync(values.key!);
const ca = readFileSync(values.ca!);
const options = h2Options();
const inbound = values.mode === 'inbound';

const pool = new H2UpstreamPool(
  inbound
    ? { host: '127.0.0.1', port: Number(values.app) }
    : { host: '127.0.0.1', port: Number(values.upstream), tls: () => ({ cert, key, ca, servername: values.servername, minVersion: 'TLSv1.2' }) },
  options,
);
const scheme = inbound ? 'http' : 'https';

function serve(socket: net.Socket): void {
  new H2Connection(socket, 'server', options, {
    onStream(_c, stream, headers, _head, endStream) {
      const out: string[] = [];
      for (let i = 0; i < headers.length; i += 2) out.push(headers[i]!, headers[i] === ':scheme' ? scheme : headers[i + 1]!);
      new StreamRelay(stream).start(pool, out, endStream);
    },
  });
}

const server = inbound
  ? tls.createServer({ cert, key, ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', ALPNProtocols: ['h2'] }, serve)
  : net.createServer({ noDelay: true }, serve);
server.listen(0, '127.0.0.1', () => {
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});
