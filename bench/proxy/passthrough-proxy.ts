// A naive node:http2 pass-through proxy: the floor for any Node proxy of this topology.
// mTLS in (same certificates and HTTP/2 settings as meshward's inbound), h2c out to the
// app, headers copied, bodies piped, trailers and resets passed on — and nothing else: no
// identity, policy, deadline or limits. Benchmark peer only; run as a forked child:
//   --app PORT --cert FILE --key FILE --ca FILE   → IPC {type:'ready', port}

import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { app: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' } },
});
const noop = (): void => {};

let upstream: http2.ClientHttp2Session | undefined;
function session(): http2.ClientHttp2Session {
  if (upstream === undefined || upstream.closed || upstream.destroyed) {
    upstream = http2.connect(`http://127.0.0.1:${values.app}`, { settings: { enablePush: false, initialWindowSize: 1 << 20 } });
    upstream.on('error', noop);
  }
  return upstream;
}

const server = http2.createSecureServer({
  key: readFileSync(values.key!),
  cert: readFileSync(values.cert!),
  ca: readFileSync(values.ca!),
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: 'TLSv1.2',
  settings: { maxConcurrentStreams: 100, enablePush: false, initialWindowSize: 1 << 20 },
});
server.on('stream', (down: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
  down.on('error', noop);
  const out: OutgoingHttpHeaders = { ':method': 'POST', ':scheme': 'http', ':path': headers[':path'], ':authority': headers[':authority'] };
  for (const name in headers) if (name.charCodeAt(0) !== 0x3a) out[name] = headers[name];
  let up: http2.ClientHttp2Stream;
  try {
    up = session().request(out, { endStream: false });
  } catch {
    down.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    return;
  }
  let trailers: OutgoingHttpHeaders = { 'grpc-status': '14' };
  up.on('error', noop);
  up.on('response', (h: IncomingHttpHeaders, flags: number) => {
    const res: OutgoingHttpHeaders = { ':status': h[':status'] };
    for (const name in h) if (name.charCodeAt(0) !== 0x3a) res[name] = h[name];
    if ((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0) return down.respond(res, { endStream: true });
    down.respond(res, { waitForTrailers: true });
    up.pipe(down);
  });
  up.on('trailers', (t: IncomingHttpHeaders) => (trailers = { ...t }));
  down.on('wantTrailers', () => down.sendTrailers(trailers));
  up.on('close', () => {
    if (!down.headersSent && !down.closed) down.close(up.rstCode || http2.constants.NGHTTP2_INTERNAL_ERROR);
  });
  down.on('close', () => {
    if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
  });
  down.pipe(up);
});
server.on('sessionError', noop);
server.listen(0, '127.0.0.1', () => {
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', port: (server.address() as { port: number }).port });
});
