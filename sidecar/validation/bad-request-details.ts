// `grpc-status-details-bin` for INVALID_ARGUMENT answers of message validation (DESIGN §9): a
// google.rpc.Status carrying google.rpc.BadRequest (proto/google/rpc/error_details.proto) with
// one field violation per broken constraint. DATA path, only when a message is refused.
// Bounded: at most MAX_VIOLATIONS entries, each text cut to MAX_TEXT characters.

import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

export const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

/** Entries sent to the caller; the audit record still names every violated constraint. */
export const MAX_VIOLATIONS = 16;
const MAX_TEXT = 200;

export interface FieldViolation {
  /** protovalidate's path of the field ("items[0].sku"); "" for a rule over the whole message. */
  readonly field: string;
  /** What the constraint asks; never the value. */
  readonly description: string;
}

/** The serialized google.rpc.Status { code, message, details: [Any(BadRequest)] }. */
export function encodeBadRequestStatus(code: number, message: string, violations: readonly FieldViolation[]): Uint8Array {
  const badRequest = new BinaryWriter();
  const n = Math.min(violations.length, MAX_VIOLATIONS);
  for (let i = 0; i < n; i++) {
    const v = violations[i]!;
    badRequest.tag(1, WireType.LengthDelimited).fork();
    if (v.field !== '') badRequest.tag(1, WireType.LengthDelimited).string(cut(v.field));
    if (v.description !== '') badRequest.tag(2, WireType.LengthDelimited).string(cut(v.description));
    badRequest.join();
  }
  const status = new BinaryWriter();
  if (code !== 0) status.tag(1, WireType.Varint).int32(code);
  if (message !== '') status.tag(2, WireType.LengthDelimited).string(message);
  // google.protobuf.Any { string type_url = 1; bytes value = 2; }
  status.tag(3, WireType.LengthDelimited).fork();
  status.tag(1, WireType.LengthDelimited).string(BAD_REQUEST_TYPE);
  status.tag(2, WireType.LengthDelimited).bytes(badRequest.finish());
  status.join();
  return status.finish();
}

/** The header value: binary metadata travels base64-encoded (gRPC over HTTP/2, "-bin" keys). */
export function badRequestHeader(code: number, message: string, violations: readonly FieldViolation[]): string {
  return Buffer.from(encodeBadRequestStatus(code, message, violations)).toString('base64');
}

function cut(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 3)}...` : text;
}
