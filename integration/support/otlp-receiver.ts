// An OTLP trace receiver for tests: OTLP/HTTP (`POST /v1/traces`, protobuf or JSON, gzip or
// not) or OTLP/gRPC, decoding what the SDK sends with protobufjs and proto/otlp/trace-subset.proto.
// It can answer late or never, to play a slow collector. Test support, not part of the sidecar.

import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { repoRoot } from '../../demo/repo-root.js';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Record<string, unknown>;
  scope: { name: string; version: string };
}

export interface ReceiverOptions {
  protocol?: 'http' | 'grpc';
  /** Answer each export this late (a slow collector). */
  delayMs?: number;
  /** Never answer (the exporter's timeout ends each export). */
  hang?: boolean;
}

const root = protobuf.loadSync(join(repoRoot, 'proto', 'otlp', 'trace-subset.proto'));
const Request = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const Response = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

type Json = Record<string, unknown>;

const hex = (v: unknown): string => (typeof v === 'string' ? v.toLowerCase() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : '');
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

function anyValue(v: Json | undefined): unknown {
  if (v === undefined || v === null) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return list((v.arrayValue as Json).values).map(anyValue);
  if ('bytesValue' in v) return hex(v.bytesValue);
  return undefined;
}

function attributes(kvs: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list(kvs)) out[String(kv.key)] = anyValue(kv.value as Json | undefined);
  return out;
}

/** OTLP JSON and protobufjs objects (camelCase fields, int64 as strings) read the same way. */
export function spansOf(request: Json): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of list(request.resourceSpans)) {
    const resource = attributes((rs.resource as Json | undefined)?.attributes);
    for (const ss of list(rs.scopeSpans)) {
      const scope = (ss.scope ?? {}) as Json;
      for (const s of list(ss.spans)) {
        const status = (s.status ?? {}) as Json;
        spans.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          traceState: String(s.traceState ?? ''),
          flags: Number(s.flags ?? 0),
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          startNs: BigInt(String(s.startTimeUnixNano ?? '0')),
          endNs: BigInt(String(s.endTimeUnixNano ?? '0')),
          attributes: attributes(s.attributes),
          events: list(s.events).map((e) => ({ name: String(e.name ?? ''), attributes: attributes(e.attributes) })),
          status: { code: Number(status.code ?? 0), message: String(status.message ?? '') },
          resource,
          scope: { name: String(scope.name ?? ''), version: String(scope.version ?? '') },
        });
      }
    }
  }
  return spans;
}

function decodeProtobuf(body: Buffer): Json {
  return Request.toObject(Request.decode(body), { longs: String, enums: Number, defaults: false, arrays: true }) as Json;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Content-Type of every export request received (HTTP), or "grpc". */
  readonly contentTypes: string[] = [];
  #waiters = new Set<() => void>();
  #pending = new Set<() => void>();

  private constructor(
    /** Base endpoint for `telemetry.otlp.endpoint` / OTEL_EXPORTER_OTLP_ENDPOINT. */
    readonly endpoint: string,
    private readonly closeServer: () => Promise<void>,
  ) {}

  static async start(opts: ReceiverOptions = {}): Promise<OtlpReceiver> {
    let receiver!: OtlpReceiver;
    const answerLater = (answer: () => void): void => {
      if (opts.hang) {
        receiver.#pending.add(answer);
        return;
      }
      if (opts.delayMs === undefined) return answer();
      const timer = setTimeout(() => {
        receiver.#pending.delete(cancel);
        answer();
      }, opts.delayMs);
      const cancel = (): void => {
        clearTimeout(timer);
        answer();
      };
      receiver.#pending.add(cancel);
    };

    if (opts.protocol === 'grpc') {
      const server = new grpc.Server();
      const service: grpc.ServiceDefinition = {
        Export: {
          path: EXPORT_PATH,
          requestStream: false,
          responseStream: false,
          requestSerialize: (m: Json) => Buffer.from(Request.encode(Request.fromObject(m)).finish()),
          requestDeserialize: (b: Buffer) => decodeProtobuf(b),
          responseSerialize: (m: Json) => Buffer.from(Response.encode(Response.fromObject(m)).finish()),
          responseDeserialize: (b: Buffer) => Response.toObject(Response.decode(b)),
        },
      };
      server.addService(service, {
        Export: (call: grpc.ServerUnaryCall<Json, Json>, cb: grpc.sendUnaryData<Json>) => {
          receiver.#receive('grpc', call.request);
          answerLater(() => cb(null, {}));
        },
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
      );
      receiver = new OtlpReceiver(`http://127.0.0.1:${port}`, async () => {
        receiver.#releaseAll();
        server.forceShutdown();
      });
      return receiver;
    }

    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const type = String(req.headers['content-type'] ?? '');
        const json = type.startsWith('application/json');
        receiver.#receive(type, json ? (JSON.parse(body.toString('utf8')) as Json) : decodeProtobuf(body));
        answerLater(() => {
          if (res.destroyed) return;
          // An empty ExportTraceServiceResponse: full success.
          res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
          res.end(json ? '{}' : Buffer.alloc(0));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    receiver = new OtlpReceiver(`http://127.0.0.1:${port}`, async () => {
      receiver.#releaseAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return receiver;
  }

  /** Export requests received so far. */
  get requests(): number {
    return this.contentTypes.length;
  }

  #receive(contentType: string, request: Json): void {
    this.contentTypes.push(contentType);
    this.spans.push(...spansOf(request));
    for (const w of this.#waiters) w();
  }

  #releaseAll(): void {
    for (const answer of this.#pending) answer();
    this.#pending.clear();
  }

  /** Resolves with the received spans once `match` holds for `count` of them; rejects after `timeoutMs`. */
  waitForSpans(match: (s: ReceivedSpan) => boolean, count = 1, timeoutMs = 10_000): Promise<ReceivedSpan[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.spans.filter(match);
        if (found.length < count) return false;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(found);
        return true;
      };
      const waiter = (): void => void check();
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`OTLP receiver: ${this.spans.filter(match).length} of ${count} matching spans within ${timeoutMs} ms (${this.spans.length} spans, ${this.requests} requests)`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(waiter);
    });
  }

  close(): Promise<void> {
    return this.closeServer();
  }
}
