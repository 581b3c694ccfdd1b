// What a gRPC request head must look like (data path, pure): the content type, and the size of
// its header list as HTTP/2 counts it. filters/grpc-request-filter.ts applies them.

/**
 * Header list size as HTTP/2 counts it (RFC 9113 §6.5.2: name + value + 32 per field), from
 * the flat name/value pairs. nghttp2 enforces SETTINGS_MAX_HEADER_LIST_SIZE only once the
 * client has acknowledged our SETTINGS, so the first requests of a connection are checked too.
 */
export function headerListSize(pairs: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < pairs.length; i++) size += pairs[i]!.length + 16;
  return size;
}

/** application/grpc, application/grpc+proto, application/grpc;charset=… — not grpc-web. */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || !value.startsWith('application/grpc')) return false;
  const next = value.charCodeAt(16);
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */;
}
