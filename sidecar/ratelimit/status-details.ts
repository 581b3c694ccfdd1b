// `grpc-status-details-bin` for meshward's own RESOURCE_EXHAUSTED answers (DESIGN §5): a
// google.rpc.Status carrying RetryInfo and QuotaFailure (proto/google/rpc/*.proto), encoded
// by hand. CONTROL path: built once per limit rule; the data path sends the finished string.

export interface StatusDetails {
  /** gRPC status code, as in `grpc-status`. */
  readonly code: number;
  /** The generic `grpc-message` text. */
  readonly message: string;
  /** RetryInfo.retry_delay, in ms; omitted when undefined. */
  readonly retryDelayMs?: number;
  /** QuotaFailure.violations; omitted when empty. */
  readonly violations?: readonly { readonly subject: string; readonly description: string }[];
}

export const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';
export const QUOTA_FAILURE_TYPE = 'type.googleapis.com/google.rpc.QuotaFailure';

/** The serialized google.rpc.Status. */
export function encodeStatusDetails(d: StatusDetails): Buffer {
  const details: Buffer[] = [];
  if (d.retryDelayMs !== undefined) details.push(any(RETRY_INFO_TYPE, retryInfo(d.retryDelayMs)));
  if (d.violations !== undefined && d.violations.length > 0) {
    details.push(any(QUOTA_FAILURE_TYPE, Buffer.concat(d.violations.map((v) => bytesField(1, Buffer.concat([stringField(1, v.subject), stringField(2, v.description)]))))));
  }
  return Buffer.concat([
    d.code === 0 ? Buffer.alloc(0) : varintField(1, d.code),
    stringField(2, d.message),
    ...details.map((a) => bytesField(3, a)),
  ]);
}

/** The header value: binary metadata travels base64-encoded (gRPC over HTTP/2, "-bin" keys). */
export function statusDetailsHeader(d: StatusDetails): string {
  return encodeStatusDetails(d).toString('base64');
}

// google.protobuf.Duration { int64 seconds = 1; int32 nanos = 2; } inside RetryInfo { retry_delay = 1 }.
function retryInfo(ms: number): Buffer {
  const whole = Math.max(0, Math.ceil(ms));
  const seconds = Math.floor(whole / 1000);
  const nanos = (whole % 1000) * 1_000_000;
  const duration = Buffer.concat([seconds === 0 ? Buffer.alloc(0) : varintField(1, seconds), nanos === 0 ? Buffer.alloc(0) : varintField(2, nanos)]);
  return bytesField(1, duration);
}

// google.protobuf.Any { string type_url = 1; bytes value = 2; }
function any(typeUrl: string, value: Buffer): Buffer {
  return Buffer.concat([stringField(1, typeUrl), bytesField(2, value)]);
}

// Protobuf wire format: a key is (field << 3 | wire type); 0 = varint, 2 = length-delimited.
function varint(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint: ${n} is not a non-negative safe integer`);
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

function varintField(field: number, n: number): Buffer {
  return Buffer.concat([varint(field * 8), varint(n)]);
}

function bytesField(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint(field * 8 + 2), varint(bytes.length), bytes]);
}

function stringField(field: number, s: string): Buffer {
  return s === '' ? Buffer.alloc(0) : bytesField(field, Buffer.from(s, 'utf8'));
}
