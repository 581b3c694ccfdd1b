// grpc-js clients for the demo services, with SPIFFE server checks, and promise helpers
// that return a call's status instead of throwing. Test support, not part of the sidecar.

import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import {
  AdminClient,
  EchoClient,
  OrdersClient,
  type OrderReply,
  type OrdersServiceClient,
  type PlaceOrderRequest,
  type AdminServiceClient,
  type EchoReply,
  type EchoRequestInput,
  type EchoServiceClient,
  type PingReply,
  type PingRequest,
  type StreamRequestInput,
} from '../../demo/proto.js';

export type ClientCreds = { caPem: string | Buffer; certPem?: string | Buffer; keyPem?: string | Buffer } | 'insecure';

export interface ClientOptions {
  /** The SPIFFE ID the server must present as its only URI SAN; unset = any verified server. */
  expectServerId?: string;
  /**
   * SNI to send. grpc-js otherwise sends the target's host even when it is an IP, which
   * Node answers with a one-time DEP0123 warning. `:authority` is not affected.
   */
  servername?: string;
  channelOptions?: Partial<grpc.ChannelOptions>;
}

export type MetadataInit = grpc.Metadata | Record<string, string | Buffer | Array<string | Buffer>>;

export interface CallOptions {
  /** Default 10 s, so no helper waits forever; `Infinity` for none. */
  deadlineMs?: number;
  metadata?: MetadataInit;
  /** Cancels the call from the client after this many ms. */
  cancelAfterMs?: number;
}

export interface CallResult<T> {
  reply?: T;
  status: number;
  details: string;
  /** Trailing metadata (also the only metadata of a trailers-only reply). */
  metadata: Record<string, string | string[]>;
  /** Initial (response header) metadata, if any arrived. */
  headers?: Record<string, string | string[]>;
}

export interface StreamResult<T> extends Omit<CallResult<T>, 'reply'> {
  replies: T[];
}

const DEFAULT_DEADLINE_MS = 10_000;
const openClients = new Set<grpc.Client>();

/** The URI SANs of a peer certificate, from Node's `subjectaltname` string (values may be JSON-quoted). */
export function uriSans(subjectaltname: string | undefined): string[] {
  const uris: string[] = [];
  const re = /(\w+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;
  for (const m of (subjectaltname ?? '').matchAll(re)) {
    if (m[1] !== 'URI') continue;
    const raw = m[2] ?? '';
    uris.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return uris;
}

/** A `checkServerIdentity` for SVIDs (no DNS SAN): compare the URI SAN, or accept any verified server. */
export function spiffeServerCheck(expectServerId?: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    if (expectServerId === undefined) return undefined;
    const uris = uriSans(cert.subjectaltname);
    if (uris.length === 1 && uris[0] === expectServerId) return undefined;
    return new Error(`server SPIFFE ID mismatch: expected ${expectServerId}, got [${uris.join(', ')}]`);
  };
}

export function channelCredentials(creds: ClientCreds, expectServerId?: string): grpc.ChannelCredentials {
  if (creds === 'insecure') return grpc.credentials.createInsecure();
  const buf = (v: string | Buffer | undefined): Buffer | null => (v === undefined ? null : Buffer.from(v));
  return grpc.credentials.createSsl(buf(creds.caPem), buf(creds.keyPem), buf(creds.certPem), {
    checkServerIdentity: spiffeServerCheck(expectServerId),
  });
}

function channelOptions(opts: ClientOptions): Partial<grpc.ChannelOptions> {
  // A private subchannel pool: clients with different certificates never share a connection.
  const sni = opts.servername === undefined ? {} : { 'grpc.ssl_target_name_override': opts.servername };
  return { 'grpc.use_local_subchannel_pool': 1, ...sni, ...opts.channelOptions };
}

export function echoClient(target: string, creds: ClientCreds, opts: ClientOptions = {}): EchoServiceClient {
  const client = new EchoClient(target, channelCredentials(creds, opts.expectServerId), channelOptions(opts));
  openClients.add(client);
  return client;
}

export function adminClient(target: string, creds: ClientCreds, opts: ClientOptions = {}): AdminServiceClient {
  const client = new AdminClient(target, channelCredentials(creds, opts.expectServerId), channelOptions(opts));
  openClients.add(client);
  return client;
}

export function ordersClient(target: string, creds: ClientCreds, opts: ClientOptions = {}): OrdersServiceClient {
  const client = new OrdersClient(target, channelCredentials(creds, opts.expectServerId), channelOptions(opts));
  openClients.add(client);
  return client;
}

/** Closes every client made by this module (call from `after`). */
export function closeAllClients(): void {
  for (const client of openClients) client.close();
  openClients.clear();
}

export function toMetadata(init?: MetadataInit): grpc.Metadata {
  if (init instanceof grpc.Metadata) return init;
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(init ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) md.add(key, v);
  }
  return md;
}

export function metadataRecord(md: grpc.Metadata | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, values] of Object.entries(md?.toJSON() ?? {})) {
    const strings = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v)));
    out[key] = strings.length === 1 ? (strings[0] as string) : strings;
  }
  return out;
}

function callOptions(opts: CallOptions): grpc.CallOptions {
  const ms = opts.deadlineMs ?? DEFAULT_DEADLINE_MS;
  return Number.isFinite(ms) ? { deadline: Date.now() + ms } : {};
}

/** Common tail of every helper: status, headers, optional client-side cancel. */
function track(call: grpc.Call & { cancel(): void }, opts: CallOptions) {
  let headers: Record<string, string | string[]> | undefined;
  call.on('metadata', (md: grpc.Metadata) => (headers = metadataRecord(md)));
  const timer = opts.cancelAfterMs === undefined ? undefined : setTimeout(() => call.cancel(), opts.cancelAfterMs);
  const status = new Promise<grpc.StatusObject>((resolve) =>
    call.on('status', (s: grpc.StatusObject) => {
      clearTimeout(timer);
      resolve(s);
    }),
  );
  return { status, headers: () => headers };
}

function unaryLike<Res>(
  start: (md: grpc.Metadata, co: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall | grpc.ClientWritableStream<unknown>,
  opts: CallOptions,
  afterStart?: (call: grpc.ClientWritableStream<unknown>) => void,
): Promise<CallResult<Res>> {
  let reply: Res | undefined;
  let done: () => void = () => {};
  const callbackDone = new Promise<void>((resolve) => (done = resolve));
  const call = start(toMetadata(opts.metadata), callOptions(opts), (err, value) => {
    if (!err) reply = value;
    done();
  });
  const t = track(call, opts);
  if (afterStart) afterStart(call as grpc.ClientWritableStream<unknown>);
  return Promise.all([t.status, callbackDone]).then(([s]) => {
    const result: CallResult<Res> = { status: s.code, details: s.details, metadata: metadataRecord(s.metadata) };
    if (reply !== undefined) result.reply = reply;
    const headers = t.headers();
    if (headers) result.headers = headers;
    return result;
  });
}

export function unary(client: EchoServiceClient, req: EchoRequestInput, opts: CallOptions = {}): Promise<CallResult<EchoReply>> {
  return unaryLike<EchoReply>((md, co, cb) => client.Unary(req, md, co, cb), opts);
}

export function ping(client: AdminServiceClient, req: Partial<PingRequest> = {}, opts: CallOptions = {}): Promise<CallResult<PingReply>> {
  return unaryLike<PingReply>((md, co, cb) => client.Ping(req, md, co, cb), opts);
}

export function placeOrder(client: OrdersServiceClient, req: PlaceOrderRequest, opts: CallOptions = {}): Promise<CallResult<OrderReply>> {
  return unaryLike<OrderReply>((md, co, cb) => client.PlaceOrder(req, md, co, cb), opts);
}

/** Writes `orders` (honouring backpressure), half-closes, and returns the single reply. */
export function importOrders(client: OrdersServiceClient, orders: PlaceOrderRequest[], opts: CallOptions = {}): Promise<CallResult<OrderReply>> {
  return unaryLike<OrderReply>((md, co, cb) => client.ImportOrders(md, co, cb), opts, (call) => void writeAll(call, orders));
}

/** Writes `reqs` (honouring backpressure), half-closes, and returns the single reply. */
export function clientStream(
  client: EchoServiceClient,
  reqs: EchoRequestInput[],
  opts: CallOptions = {},
): Promise<CallResult<EchoReply>> {
  return unaryLike<EchoReply>((md, co, cb) => client.ClientStream(md, co, cb), opts, (call) => void writeAll(call, reqs));
}

export interface ServerStreamOptions extends CallOptions {
  /** Keep the replies (default true); false only counts them, for multi-MB streams. */
  collect?: boolean;
  onMessage?: (reply: EchoReply, index: number) => void;
}

export interface ServerStreamResult extends StreamResult<EchoReply> {
  count: number;
  /** Payload bytes received. */
  bytes: number;
}

export function serverStream(
  client: EchoServiceClient,
  req: StreamRequestInput,
  opts: ServerStreamOptions = {},
): Promise<ServerStreamResult> {
  const call = client.ServerStream(req, toMetadata(opts.metadata), callOptions(opts));
  return collectStream(call, opts);
}

/** Writes `reqs` (honouring backpressure), half-closes, and collects every reply. */
export function bidi(client: EchoServiceClient, reqs: EchoRequestInput[], opts: ServerStreamOptions = {}): Promise<ServerStreamResult> {
  const call = client.Bidi(toMetadata(opts.metadata), callOptions(opts));
  const result = collectStream(call, opts);
  void writeAll(call, reqs);
  return result;
}

async function writeAll<T>(call: grpc.ClientWritableStream<T>, reqs: T[]): Promise<void> {
  for (const req of reqs) {
    if (call.destroyed || call.writableEnded) return;
    if (!call.write(req)) {
      const drained = await new Promise<boolean>((resolve) => {
        const onDrain = (): void => finish(true);
        const onStop = (): void => finish(false);
        const finish = (ok: boolean): void => {
          call.removeListener('drain', onDrain);
          call.removeListener('status', onStop);
          call.removeListener('close', onStop);
          resolve(ok);
        };
        call.once('drain', onDrain);
        call.once('status', onStop);
        call.once('close', onStop);
      });
      if (!drained) return;
    }
  }
  call.end();
}

function collectStream(call: grpc.ClientReadableStream<EchoReply>, opts: ServerStreamOptions): Promise<ServerStreamResult> {
  const replies: EchoReply[] = [];
  let count = 0;
  let bytes = 0;
  let ended = false;
  let endedNotify: () => void = () => {};
  const endedPromise = new Promise<void>((resolve) => (endedNotify = resolve));
  call.on('data', (reply: EchoReply) => {
    if (opts.collect !== false) replies.push(reply);
    opts.onMessage?.(reply, count);
    count++;
    bytes += reply.payload.length;
  });
  call.on('end', () => {
    ended = true;
    endedNotify();
  });
  // grpc-js emits 'error' for every non-OK status; the status itself is what tests read.
  call.on('error', () => endedNotify());
  const t = track(call, opts);
  return t.status.then(async (s) => {
    // On OK, buffered messages may still be delivered after 'status': wait for 'end'.
    if (s.code === grpc.status.OK && !ended) await endedPromise;
    const result: ServerStreamResult = { replies, count, bytes, status: s.code, details: s.details, metadata: metadataRecord(s.metadata) };
    const headers = t.headers();
    if (headers) result.headers = headers;
    return result;
  });
}
