// The one gRPC call every benchmark target carries: a unary method, a ~30-byte request
// message and a fixed ~30-byte reply, framed as gRPC length-prefixed messages.
// Shared by the load generator, the backend app and the h2load driver.

/** Method the load targets; the realistic meshward variant has an RBAC rule for it. */
export const BENCH_SERVICE = 'bench.v1.Bench';
export const BENCH_METHOD = `${BENCH_SERVICE}/Unary`;
export const BENCH_PATH = `/${BENCH_METHOD}`;

/** 5-byte gRPC prefix (uncompressed, big-endian length) + message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** A protobuf message with one string field (tag 1) of `size - 2` bytes. */
function message(size: number, fill: string): Buffer {
  const text = Buffer.from(fill.repeat(Math.ceil(size / fill.length)).slice(0, Math.max(0, size - 2)));
  return Buffer.concat([Buffer.from([0x0a, text.length]), text]);
}

/** The request every call sends (30-byte message). */
export const REQUEST_FRAME: Buffer = grpcFrame(message(30, 'meshward-bench-'));
/** The reply the backend app answers with (30-byte message). */
export const REPLY_FRAME: Buffer = grpcFrame(message(30, 'ok-'));
