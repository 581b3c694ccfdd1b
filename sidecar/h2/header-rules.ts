// What makes a request, a response or trailers malformed (RFC 9113 §8.1.1, §8.2, §8.3) —
// data path, one pass over each decoded field list. A malformed message is a stream error
// of type PROTOCOL_ERROR and is never forwarded. The pass also picks up the pseudo-header
// values and content-length, so the caller does not look them up again.

/** Connection-specific fields (§8.2.2); `te` is allowed with the value "trailers" only. */
const CONNECTION_SPECIFIC = new Set(['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

export interface RequestHead {
  method: string;
  scheme: string;
  authority: string;
  path: string;
  /** -1 when absent. */
  contentLength: number;
}

export interface ResponseHead {
  status: number;
  contentLength: number;
}

export function emptyRequestHead(): RequestHead {
  return { method: '', scheme: '', authority: '', path: '', contentLength: -1 };
}

/** Checks a request's fields; fills `head`; returns why it is malformed, or undefined. */
export function checkRequest(list: readonly string[], head: RequestHead): string | undefined {
  let seen = 0; // bit per pseudo-header
  let regular = false;
  let host: string | undefined;
  head.contentLength = -1;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      let bit: number;
      switch (name) {
        case ':method':
          bit = 1;
          head.method = value;
          break;
        case ':scheme':
          bit = 2;
          head.scheme = value;
          break;
        case ':authority':
          bit = 4;
          head.authority = value;
          break;
        case ':path':
          bit = 8;
          head.path = value;
          break;
        default:
          return `pseudo-header ${name} not allowed in a request`;
      }
      if (seen & bit) return `duplicate ${name}`;
      seen |= bit;
      const bad = badValue(value);
      if (bad !== undefined) return `${name}: ${bad}`;
      continue;
    }
    regular = true;
    const why = checkField(name, value);
    if (why !== undefined) return why;
    if (name === 'content-length') {
      const n = parseContentLength(value, head.contentLength);
      if (n < 0) return `content-length "${value}"`;
      head.contentLength = n;
    } else if (name === 'host') host = value;
  }
  if ((seen & 1) === 0) return 'missing :method';
  if (head.method === 'CONNECT') {
    if (seen !== 5) return 'CONNECT needs :authority and no :scheme or :path';
    return undefined;
  }
  if ((seen & 2) === 0) return 'missing :scheme';
  if ((seen & 8) === 0 || head.path === '') return 'missing or empty :path';
  if ((seen & 4) === 0) head.authority = host ?? '';
  else if (host !== undefined && host !== head.authority) return 'host differs from :authority';
  return undefined;
}

/** Checks a response's fields (a client receiving); fills `head`. */
export function checkResponse(list: readonly string[], head: ResponseHead): string | undefined {
  let regular = false;
  let status = -1;
  head.contentLength = -1;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      if (name !== ':status') return `pseudo-header ${name} not allowed in a response`;
      if (status >= 0) return 'duplicate :status';
      status = /^[1-5]\d\d$/.test(value) ? Number(value) : -2;
      if (status < 0) return `:status "${value}"`;
      continue;
    }
    regular = true;
    const why = checkField(name, value);
    if (why !== undefined) return why;
    if (name === 'content-length') {
      const n = parseContentLength(value, head.contentLength);
      if (n < 0) return `content-length "${value}"`;
      head.contentLength = n;
    }
  }
  if (status < 0) return 'missing :status';
  head.status = status;
  return undefined;
}

/** Trailers carry no pseudo-headers (§8.1). */
export function checkTrailers(list: readonly string[]): string | undefined {
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    if (name.charCodeAt(0) === 0x3a) return `pseudo-header ${name} in trailers`;
    const why = checkField(name, list[i + 1]!);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** §8.2.1 name characters (lowercase tokens), §8.2.2 connection-specific fields, §8.2.1 values. */
function checkField(name: string, value: string): string | undefined {
  if (name.length === 0) return 'empty field name';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x41 && c <= 0x5a) || c >= 0x7f || c === 0x3a) return `field name "${name}"`;
  }
  if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
  if (name === 'te' && value !== 'trailers') return `te "${value}"`;
  const bad = badValue(value);
  return bad === undefined ? undefined : `${name}: ${bad}`;
}

function badValue(value: string): string | undefined {
  const n = value.length;
  if (n === 0) return undefined;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return 'value with leading or trailing whitespace';
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return 'value with NUL, CR or LF';
  }
  return undefined;
}

/** A decimal length; a repeated field must agree with the earlier one. -1 when invalid. */
function parseContentLength(value: string, earlier: number): number {
  if (value.length === 0 || value.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return earlier >= 0 && earlier !== n ? -1 : n;
}
