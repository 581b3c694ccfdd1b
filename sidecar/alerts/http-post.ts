// POSTs a JSON body to a receiver with a time bound and the headers of its headers file
// (re-read when the file changes, so a rotated token is used without a restart). Errors say
// what failed — status, timeout, connection — and never carry a header value. CONTROL path.

import { statSync } from 'node:fs';
import { readHeadersFile } from '../config/headers-file.js';
import { ConfigError } from '../config/load.js';
import { log } from '../core/log.js';

/** Bytes of an error response kept for the message (Alertmanager explains a 400 in its body). */
const ERROR_BODY_BYTES = 300;

/** The current headers of a headers file; a file that turns bad keeps the last good headers (logged once). */
export class HeadersSource {
  #headers: Readonly<Record<string, string>> = {};
  #mtimeMs = -1;
  #size = -1;
  #lastError: string | undefined;

  /** Throws ConfigError when the file is unreadable or invalid now (startup: exit 2). */
  constructor(
    private readonly file: string | undefined,
    key: string,
  ) {
    if (file === undefined) return;
    const r = readHeadersFile(file);
    if (!r.ok) throw new ConfigError([`${key}: ${r.error}`]);
    this.current();
  }

  current(): Readonly<Record<string, string>> {
    const file = this.file;
    if (file === undefined) return this.#headers;
    let mtimeMs: number;
    let size: number;
    try {
      ({ mtimeMs, size } = statSync(file));
    } catch {
      mtimeMs = -2;
      size = -2;
    }
    if (mtimeMs === this.#mtimeMs && size === this.#size) return this.#headers;
    this.#mtimeMs = mtimeMs;
    this.#size = size;
    const r = readHeadersFile(file);
    if (r.ok) {
      this.#headers = r.headers;
      this.#lastError = undefined;
    } else if (r.error !== this.#lastError) {
      this.#lastError = r.error;
      log.warn('alerts: headers file unusable; keeping the previous headers', { error: r.error });
    }
    return this.#headers;
  }
}

export async function postJson(url: string, body: unknown, headers: HeadersSource, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { ...headers.current(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    throw new Error(describeFetchError(err, timeoutMs));
  }
  if (res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return;
  }
  const text = await readSome(res);
  throw new Error(`HTTP ${res.status}${text === '' ? '' : `: ${text}`}`);
}

async function readSome(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.length;
    }
  } catch {
    // the body broke off: keep what arrived
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, ERROR_BODY_BYTES).toString('utf8').replace(/\s+/g, ' ').trim();
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: unknown }).cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
}
