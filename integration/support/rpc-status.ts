// Decodes `grpc-status-details-bin` (a google.rpc.Status with RetryInfo / QuotaFailure / BadRequest) with
// protobufjs and the .proto files meshward ships: an encoder-independent check. Test support.

import { join } from 'node:path';
import protobuf from 'protobufjs';
import { repoRoot } from '../../demo/repo-root.js';

export interface DecodedStatus {
  code: number;
  message: string;
  /** RetryInfo.retry_delay in ms, if present. */
  retryDelayMs?: number;
  /** QuotaFailure.violations, if present. */
  violations?: Array<{ subject: string; description: string }>;
  /** BadRequest.field_violations, if present. */
  fieldViolations?: Array<{ field: string; description: string }>;
  /** Type URLs of every detail, in order. */
  types: string[];
}

let root: protobuf.Root | undefined;

function types() {
  root ??= protobuf.loadSync([join(repoRoot, 'proto/google/rpc/status.proto'), join(repoRoot, 'proto/google/rpc/error_details.proto')]);
  return {
    Status: root.lookupType('google.rpc.Status'),
    RetryInfo: root.lookupType('google.rpc.RetryInfo'),
    QuotaFailure: root.lookupType('google.rpc.QuotaFailure'),
    BadRequest: root.lookupType('google.rpc.BadRequest'),
  };
}

/** `value` as grpc-clients.ts records binary metadata: base64. */
export function decodeStatusDetails(value: string | string[] | undefined): DecodedStatus {
  if (typeof value !== 'string') throw new Error(`grpc-status-details-bin: expected one value, got ${JSON.stringify(value)}`);
  const t = types();
  const status = t.Status.toObject(t.Status.decode(Buffer.from(value, 'base64')), { defaults: true, longs: Number }) as {
    code: number;
    message: string;
    // protobufjs's bundled google/protobuf/any keeps the proto field name.
    details: Array<{ type_url: string; value: Uint8Array }>;
  };
  const out: DecodedStatus = { code: status.code, message: status.message, types: status.details.map((d) => d.type_url) };
  for (const d of status.details) {
    if (d.type_url === 'type.googleapis.com/google.rpc.RetryInfo') {
      const r = t.RetryInfo.toObject(t.RetryInfo.decode(d.value), { defaults: true, longs: Number }) as { retryDelay?: { seconds: number; nanos: number } };
      out.retryDelayMs = (r.retryDelay?.seconds ?? 0) * 1000 + (r.retryDelay?.nanos ?? 0) / 1e6;
    } else if (d.type_url === 'type.googleapis.com/google.rpc.QuotaFailure') {
      out.violations = (t.QuotaFailure.toObject(t.QuotaFailure.decode(d.value), { defaults: true }) as { violations: DecodedStatus['violations'] }).violations;
    } else if (d.type_url === 'type.googleapis.com/google.rpc.BadRequest') {
      out.fieldViolations = (t.BadRequest.toObject(t.BadRequest.decode(d.value), { defaults: true }) as { fieldViolations: DecodedStatus['fieldViolations'] }).fieldViolations;
    }
  }
  return out;
}
