// The headers file of an alert receiver (`alerts.webhook.headersFile`, DESIGN §10): one
// `Name: value` per line, `#` comments and blank lines ignored. The values are secrets
// (tokens): problems name the file and line, never a value. CONTROL path.

import { readFileSync } from 'node:fs';

export type HeadersFileResult =
  | { readonly ok: true; readonly headers: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly error: string };

// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Set by the HTTP client itself; a file must not change the framing or the target. */
const RESERVED = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer']);
const MAX_BYTES = 64 * 1024;
const MAX_HEADERS = 64;

export function parseHeadersText(text: string, file: string): HeadersFileResult {
  const headers: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${i + 1}`;
    const colon = line.indexOf(':');
    if (colon <= 0) return { ok: false, error: `${where}: expected "Name: value"` };
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name)) return { ok: false, error: `${where}: not a valid header name` };
    if (RESERVED.has(name.toLowerCase())) return { ok: false, error: `${where}: header ${name} is set by meshward` };
    // Control characters would split the request (the value itself is never echoed).
    if (/[\0-\x08\x0a-\x1f\x7f]/.test(value)) return { ok: false, error: `${where}: the value of ${name} holds a control character` };
    if (Object.hasOwn(headers, name.toLowerCase())) return { ok: false, error: `${where}: header ${name} repeats an earlier line` };
    if (++count > MAX_HEADERS) return { ok: false, error: `${where}: more than ${MAX_HEADERS} headers` };
    headers[name.toLowerCase()] = value;
  }
  return { ok: true, headers };
}

export function readHeadersFile(file: string): HeadersFileResult {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_BYTES) return { ok: false, error: `${file}: larger than ${MAX_BYTES} bytes` };
    text = buf.toString('utf8');
  } catch (err) {
    return { ok: false, error: `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  return parseHeadersText(text, file);
}
