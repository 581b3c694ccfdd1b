// The demo "application": a grpc-js server on h2c implementing proto/demo.proto, which
// records every call it receives so integration tests can see what got past the sidecar.
// Test/demo code, not part of the sidecar. Standalone: `node dist/demo/echo-app.js --port 8080`.

import * as grpc from '@grpc/grpc-js';
import type { EventEmitter } from 'node:events';
import { realpathSync } from 'node:fs';
import type * as http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import {
  adminService,
  echoService,
  ordersService,
  type OrderReply,
  type PlaceOrderRequest,
  type EchoReply,
  type EchoRequest,
  type PingReply,
  type PingRequest,
  type StreamRequest,
} from './proto.js';

export interface RecordedCall {
  /** `:path` as received, e.g. `/meshward.demo.v1.Echo/Unary`. */
  method: string;
  /** Request metadata as grpc-js hands it to the app (no pseudo-headers; binary values base64). */
  metadata: Record<string, string | string[]>;
  cancelled: boolean;
  /** Request messages received. */
  received: number;
  /** Reply messages handed to grpc-js (a stalled reader keeps this low through flow control). */
  sent: number;
  startedAt: number;
  endedAt?: number;
  /** Raw HTTP/2 request headers, pseudo-headers, `te`, `grpc-timeout` and `content-type` included. */
  headers: Record<string, string | string[]>;
  /** gRPC status code the app answered with (unset if the call was cancelled first). */
  status?: number;
  /** Set when grpc-js answered without running a handler (the app never saw a message). */
  unhandled?: 'unimplemented' | 'unsupported-media-type';
  /** Orders calls: the request messages as the app decoded them (at most MAX_RECORDED_MESSAGES). */
  messages?: PlaceOrderRequest[];
}

export interface EchoApp {
  port: number;
  calls: RecordedCall[];
  close(): Promise<void>;
  forceClose(): void;
}

export interface EchoAppOptions {
  port?: number;
  host?: string;
  /** Records kept; when full the oldest half is dropped (a long benchmark must not grow without bound). */
  maxRecordedCalls?: number;
}

// Upper bounds on what a request can ask the app to do.
const MAX_SLEEP_MS = 120_000;
const MAX_STREAM_COUNT = 1_000_000;
const MAX_PAYLOAD_SIZE = 16 * 1024 * 1024;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const CLOSE_GRACE_MS = 5_000;
const MAX_RECORDED_MESSAGES = 100;
// Added by the stream tap to the request headers so the handler finds its record; never recorded.
const RECORD_HEADER = 'x-echo-app-record';

// What every grpc-js server call kind has in common (their `on` overloads do not unify).
type AnyCall = { cancelled: boolean; metadata: grpc.Metadata; getPath(): string } & Pick<
  EventEmitter,
  'on' | 'once' | 'removeListener'
>;

export async function startEchoApp(opts: EchoAppOptions = {}): Promise<EchoApp> {
  const host = opts.host ?? '127.0.0.1';
  const maxRecorded = Math.max(2, opts.maxRecordedCalls ?? 20_000);
  const calls: RecordedCall[] = [];
  const byId = new Map<string, RecordedCall>();
  let nextId = 0;

  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  const handledPaths = new Set<string>(
    [echoService, adminService, ordersService].flatMap((svc) => Object.values(svc).map((m) => m.path)),
  );

  function record(rec: RecordedCall): string {
    if (calls.length >= maxRecorded) calls.splice(0, calls.length >> 1);
    calls.push(rec);
    const id = String(++nextId);
    byId.set(id, rec);
    return id;
  }

  // Runs before grpc-js's own 'stream' listener, so streams grpc-js refuses without a
  // handler (unknown path, wrong content-type) are recorded too.
  function onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const path = String(headers[':path'] ?? '');
    const contentType = headers['content-type'];
    const raw = copyHeaders(headers);
    // Until a handler runs (it may never: a call cancelled before its request message
    // arrived), the metadata is the raw headers without pseudo-headers.
    const metadata = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith(':')));
    const rec: RecordedCall = { method: path, metadata, cancelled: false, received: 0, sent: 0, startedAt: Date.now(), headers: raw };
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      rec.unhandled = 'unsupported-media-type';
    } else if (!handledPaths.has(path)) {
      rec.unhandled = 'unimplemented';
      rec.status = grpc.status.UNIMPLEMENTED;
    }
    if (rec.unhandled) {
      rec.endedAt = rec.startedAt;
      record(rec);
      return;
    }
    const id = record(rec);
    headers[RECORD_HEADER] = id;
    stream.once('close', () => {
      byId.delete(id);
      markCancelled(rec); // no-op once a status was sent
    });
  }

  function begin(call: AnyCall): RecordedCall {
    const id = call.metadata.get(RECORD_HEADER)[0];
    call.metadata.remove(RECORD_HEADER);
    const found = id === undefined ? undefined : byId.get(String(id));
    // Without the tap (never expected) the call is still recorded, headers unknown.
    const rec = found ?? { method: call.getPath(), metadata: {}, cancelled: false, received: 0, sent: 0, startedAt: Date.now(), headers: {} };
    if (!found) record(rec);
    rec.metadata = metadataRecord(call.metadata);
    if (call.cancelled) markCancelled(rec);
    call.on('cancelled', () => markCancelled(rec));
    return rec;
  }

  server.addService(echoService, {
    Unary: async (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      const rec = begin(call);
      rec.received = 1;
      const req = call.request;
      if (!(await waitUnlessCancelled(call, req.sleepMs))) return;
      if (req.failCode) return finish(rec, req.failCode, (err) => cb(err));
      rec.sent = 1;
      finish(rec, grpc.status.OK, () => cb(null, reply(call, req.message, req.payload, 1, req.payload.length)));
    },

    ServerStream: async (call: grpc.ServerWritableStream<StreamRequest, EchoReply>) => {
      const rec = begin(call);
      rec.received = 1;
      const req = call.request;
      const count = clamp(req.count, 0, MAX_STREAM_COUNT);
      const payload = Buffer.alloc(clamp(req.payloadSize, 0, MAX_PAYLOAD_SIZE), 0x61);
      const metadata = metadataMap(call.metadata);
      for (let i = 1; i <= count; i++) {
        if (i > 1 && !(await waitUnlessCancelled(call, req.delayMs))) return;
        if (call.cancelled) return;
        const more = call.write({ message: req.message, payload, count: i, bytes: payload.length, metadata });
        rec.sent++;
        if (!more && !(await waitForDrain(call))) return;
      }
      if (req.failCode) return finish(rec, req.failCode, (err) => call.emit('error', err));
      finish(rec, grpc.status.OK, () => call.end());
    },

    ClientStream: (call: grpc.ServerReadableStream<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      const rec = begin(call);
      let bytes = 0;
      let sleepMs = 0;
      let last = '';
      let failed = false;
      call.on('data', (req: EchoRequest) => {
        if (failed) return;
        rec.received++;
        bytes += req.payload.length;
        sleepMs = Math.max(sleepMs, req.sleepMs);
        last = req.message;
        if (req.failCode) {
          failed = true;
          finish(rec, req.failCode, (err) => cb(err));
        }
      });
      call.on('end', async () => {
        if (failed || !(await waitUnlessCancelled(call, sleepMs))) return;
        rec.sent = 1;
        finish(rec, grpc.status.OK, () => cb(null, reply(call, last, Buffer.alloc(0), rec.received, bytes)));
      });
    },

    Bidi: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
      const rec = begin(call);
      let failed = false;
      // Messages are answered one at a time: the input is paused while one is handled,
      // so a slow reader also slows down how fast this app reads.
      let queue: Promise<void> = Promise.resolve();
      const handle = async (req: EchoRequest): Promise<void> => {
        if (failed || call.cancelled) return;
        if (!(await waitUnlessCancelled(call, req.sleepMs))) return;
        if (req.failCode) {
          failed = true;
          return finish(rec, req.failCode, (err) => call.emit('error', err));
        }
        const more = call.write(reply(call, req.message, req.payload, rec.received, req.payload.length));
        rec.sent++;
        if (!more) await waitForDrain(call);
      };
      call.on('data', (req: EchoRequest) => {
        rec.received++;
        call.pause();
        queue = queue.then(() => handle(req)).finally(() => call.resume());
      });
      call.on('end', () => {
        queue = queue.then(() => {
          if (!failed && !call.cancelled) finish(rec, grpc.status.OK, () => call.end());
        });
      });
    },
  });

  server.addService(adminService, {
    Ping: (call: grpc.ServerUnaryCall<PingRequest, PingReply>, cb: grpc.sendUnaryData<PingReply>) => {
      const rec = begin(call);
      rec.received = 1;
      rec.sent = 1;
      finish(rec, grpc.status.OK, () => cb(null, { message: call.request.message, metadata: metadataMap(call.metadata) }));
    },
  });

  // Orders: the app of message validation's examples; it records every order it decoded.
  const keep = (rec: RecordedCall, req: PlaceOrderRequest): void => {
    rec.received++;
    rec.messages ??= [];
    if (rec.messages.length < MAX_RECORDED_MESSAGES) rec.messages.push(req);
  };
  server.addService(ordersService, {
    PlaceOrder: (call: grpc.ServerUnaryCall<PlaceOrderRequest, OrderReply>, cb: grpc.sendUnaryData<OrderReply>) => {
      const rec = begin(call);
      keep(rec, call.request);
      rec.sent = 1;
      finish(rec, grpc.status.OK, () => cb(null, { accepted: 1, orderIds: [call.request.orderId ?? ''] }));
    },
    ImportOrders: (call: grpc.ServerReadableStream<PlaceOrderRequest, OrderReply>, cb: grpc.sendUnaryData<OrderReply>) => {
      const rec = begin(call);
      const ids: string[] = [];
      call.on('data', (req: PlaceOrderRequest) => {
        keep(rec, req);
        if (ids.length < MAX_RECORDED_MESSAGES) ids.push(req.orderId ?? '');
      });
      call.on('end', () => {
        rec.sent = 1;
        finish(rec, grpc.status.OK, () => cb(null, { accepted: rec.received, orderIds: ids }));
      });
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  tapStreams(server, onStream);

  const forceClose = (): void => server.forceShutdown();
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        forceClose();
        resolve();
      }, CLOSE_GRACE_MS);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  return { port, calls, close, forceClose };
}

/** grpc-js keeps its `http2.Server`s private; the echo app needs their 'stream' events. */
function tapStreams(
  server: grpc.Server,
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    throw new Error('echo-app: grpc-js internals changed (Server.http2Servers); cannot record every call');
  }
  for (const h2 of servers.keys() as Iterable<http2.Http2Server>) h2.prependListener('stream', onStream);
}

function reply(call: AnyCall, message: string, payload: Buffer, count: number, bytes: number): EchoReply {
  return { message, payload, count, bytes, metadata: metadataMap(call.metadata) };
}

function failWith(code: number): grpc.ServiceError {
  const err = new Error(`echo: fail_code ${code}`) as grpc.ServiceError;
  err.code = code;
  err.details = `echo: fail_code ${code}`;
  err.metadata = new grpc.Metadata();
  return err;
}

/** Records the outcome, then sends it: `send(null)` for OK, `send(error)` otherwise. */
function finish(rec: RecordedCall, code: number, send: (err: grpc.ServiceError | null) => void): void {
  rec.status = code;
  rec.endedAt ??= Date.now();
  send(code === grpc.status.OK ? null : failWith(code));
}

// grpc-js 1.14 emits 'cancelled' after every call, also once it has sent the status
// (notifyOnCancel in sendStatus): only a call that ends before its status is cancelled.
function markCancelled(rec: RecordedCall): void {
  if (rec.status !== undefined) return;
  rec.cancelled = true;
  rec.endedAt ??= Date.now();
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.trunc(n) || 0));
}

/** Resolves true after `ms`, or false as soon as the call is cancelled. */
function waitUnlessCancelled(call: AnyCall, ms: number): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(false);
  const wait = clamp(ms, 0, MAX_SLEEP_MS);
  if (wait === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onCancel = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      call.removeListener('cancelled', onCancel);
      resolve(true);
    }, wait);
    call.once('cancelled', onCancel);
  });
}

/** Resolves true on 'drain', false if the call ends first. */
function waitForDrain(call: AnyCall): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => (): void => {
      for (const [ev, fn] of handlers) call.removeListener(ev, fn);
      resolve(ok);
    };
    const handlers: Array<[string, () => void]> = [['drain', done(true)], ['cancelled', done(false)], ['close', done(false)]];
    for (const [ev, fn] of handlers) call.once(ev, fn);
  });
}

function metadataRecord(md: grpc.Metadata): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, values] of Object.entries(md.toJSON())) {
    const strings = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v)));
    out[key] = strings.length === 1 ? (strings[0] as string) : strings;
  }
  return out;
}

function metadataMap(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadataRecord(md))) out[key] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

function copyHeaders(headers: http2.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined && key !== RECORD_HEADER) out[key] = Array.isArray(value) ? [...value] : String(value);
  }
  return out;
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const portArg = flag('--port');
  const app = await startEchoApp({
    port: portArg === undefined ? 0 : Number(portArg),
    host: flag('--host') ?? '127.0.0.1',
  });
  process.stdout.write(JSON.stringify({ msg: 'echo app ready', port: app.port }) + '\n');
  const stop = (): void => {
    void app.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
