// Field schemas shared by the sidecar config: durations, byte sizes, host:port addresses,
// file paths, URLs and SPIFFE names. Each validates the YAML value and converts it to the
// form the rest of the sidecar uses. CONTROL path.
import { isIPv4, isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import * as z from 'zod';
import { parseSpiffeId } from '../identity/spiffe.js';
import { expected, expecting } from './issue-message.js';
import { parseByteSize, parseDuration } from './units.js';

/** A TCP address after parsing: `host` has no brackets (`::1`), `port` is 0..65535. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

// Node's timers clamp anything above 2^31-1 ms to 1 ms (with a TimeoutOverflowWarning),
// so a longer duration would turn into "immediately": refuse it here instead.
const MAX_TIMER_MS = 2 ** 31 - 1;

const DURATION_TEXT = 'a duration such as 250ms, 5s, 1m or 1m30s';

/**
 * The shape of a duration (parseDuration's grammar, except the largest-first rule) as a JSON
 * Schema `pattern`: editors check it, and `isDurationSchema` finds durations in the JSON
 * Schema (the admin /config view writes them back in units).
 */
export const DURATION_PATTERN = '^(?=\\d)(\\d+h)?(\\d+m)?(\\d+s)?(\\d+ms)?$';
const DURATION_RE = new RegExp(DURATION_PATTERN);

/** As DURATION_PATTERN, with days (`longDuration`). */
export const LONG_DURATION_PATTERN = '^(?=\\d)(\\d+d)?(\\d+h)?(\\d+m)?(\\d+s)?(\\d+ms)?$';
const LONG_DURATION_RE = new RegExp(LONG_DURATION_PATTERN);

/** Whether a JSON Schema node (of `z.toJSONSchema(..., { io: 'input' })`) is a duration field: 'days' for `longDuration`. */
export function isDurationSchema(node: { readonly pattern?: unknown }): boolean | 'days' {
  if (node.pattern === LONG_DURATION_PATTERN) return 'days';
  return node.pattern === DURATION_PATTERN;
}

/** A duration string (see parseDuration) → milliseconds. `positive` refuses `0s`. */
export function duration(opts: { positive: boolean }) {
  return z
    .string({ error: expecting(DURATION_TEXT) })
    .regex(DURATION_RE, { error: (iss) => expected(DURATION_TEXT, iss.input) })
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: expected(DURATION_TEXT, s), input: s });
        return z.NEVER;
      }
      if ((opts.positive && ms === 0) || ms > MAX_TIMER_MS) {
        const what = `a duration ${opts.positive ? 'above 0s and ' : ''}at most 596h31m23s647ms`;
        ctx.addIssue({ code: 'custom', message: expected(what, s), input: s });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description: 'A duration such as 250ms, 5s, 1m or 1m30s: units h, m, s, ms, largest first; no bare numbers.' });
}

const LONG_DURATION_TEXT = 'a duration such as 30d, 12h or 1d12h';

/**
 * A duration that may be counted in days (`30d`, `1d12h`) → milliseconds; never used as a
 * timer, so it is not bounded by Node's timer range. `positive` refuses `0d`.
 */
export function longDuration(opts: { positive: boolean }) {
  return z
    .string({ error: expecting(LONG_DURATION_TEXT) })
    .regex(LONG_DURATION_RE, { error: (iss) => expected(LONG_DURATION_TEXT, iss.input) })
    .transform((s, ctx) => {
      const m = /^(?:(\d+)d)?(.*)$/.exec(s)!;
      const days = m[1] === undefined ? 0 : Number(m[1]) * 86_400_000;
      const rest = m[2] === '' ? (m[1] === undefined ? undefined : 0) : parseDuration(m[2]!);
      const ms = rest === undefined ? undefined : days + rest;
      if (ms === undefined || !Number.isSafeInteger(ms) || (opts.positive && ms === 0)) {
        ctx.addIssue({ code: 'custom', message: expected(LONG_DURATION_TEXT, s), input: s });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description: 'A duration such as 30d, 12h or 1d12h: units d, h, m, s, ms, largest first.' });
}

/** A byte size (see parseByteSize) within [min, max] → bytes. */
export function byteSize(min: number, max: number) {
  const what = `a byte size from ${min} to ${max}, such as ${max} or "${max / 1024}Ki"`;
  return z
    .union([z.int().min(0), z.string()], { error: expecting(what) })
    .transform((v, ctx) => {
      const bytes = parseByteSize(v);
      if (bytes === undefined || bytes < min || bytes > max) {
        ctx.addIssue({ code: 'custom', message: expected(what, v), input: v });
        return z.NEVER;
      }
      return bytes;
    })
    .meta({ description: 'A byte size: an integer, or an integer with Ki, Mi or Gi (powers of 1024).' });
}

/**
 * Parses `host:port` or `[ipv6]:port`. The host is an IPv4 address, a bracketed IPv6
 * address or a DNS name; the port is a decimal integer 0..65535. Returns undefined if invalid.
 */
export function parseHostPort(s: string): HostPort | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const v6 = m[1];
  if (v6 !== undefined) return isIPv6(v6) ? { host: v6, port } : undefined;
  const host = m[2] ?? '';
  return isIPv4(host) || isDnsName(host) ? { host, port } : undefined;
}

function isDnsName(host: string): boolean {
  if (host.length > 253) return false;
  const labels = host.split('.');
  // All-numeric names look like IPv4 addresses; if they were valid, isIPv4 accepted them.
  if (labels.every((l) => /^\d+$/.test(l))) return false;
  return labels.every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

/**
 * A `host:port` string → HostPort. Listeners accept port 0 (any free port, used by tests);
 * addresses the sidecar connects to need a real port.
 */
export function hostPort(opts: { listen: boolean }) {
  const what = `"host:port" or "[ipv6]:port" with a port from ${opts.listen ? 0 : 1} to 65535`;
  return z
    .string({ error: expecting(what) })
    .transform((s, ctx): HostPort => {
      const hp = parseHostPort(s);
      if (hp === undefined || (!opts.listen && hp.port === 0)) {
        ctx.addIssue({ code: 'custom', message: expected(what, s), input: s });
        return z.NEVER;
      }
      return hp;
    })
    .meta({ description: `An address: ${what}.` });
}

/** A file or folder path → absolute, resolved against `baseDir` (the config file's folder). */
export function filePath(baseDir: string) {
  return z
    .string({ error: expecting('a file path') })
    .min(1)
    .refine((p) => !p.includes('\0'), { error: (iss) => expected('a file path', iss.input) })
    .transform((p) => resolve(baseDir, p))
    .meta({ description: "A path, relative to the config file's folder." });
}

// SPIFFE names are checked by identity/spiffe.ts, which owns the SPIFFE-ID rules.
export const trustDomain = z.string({ error: expecting('a SPIFFE trust domain') }).check((ctx) => {
  const parsed = parseSpiffeId(`spiffe://${ctx.value}`);
  if (!parsed.ok || parsed.id.path !== '') {
    const why = parsed.ok ? 'a "/" is not allowed' : parsed.error;
    ctx.issues.push({ code: 'custom', message: expected(`a SPIFFE trust domain (${why})`, ctx.value), input: ctx.value });
  }
});

/** A workload SPIFFE ID (`spiffe://TRUST-DOMAIN/PATH`), kept as written. */
export const spiffeId = z.string({ error: expecting('a SPIFFE ID') }).check((ctx) => {
  const parsed = parseSpiffeId(ctx.value);
  if (!parsed.ok || parsed.id.path === '') {
    const why = parsed.ok ? 'a workload ID needs a path' : parsed.error;
    ctx.issues.push({
      code: 'custom',
      message: expected(`a SPIFFE ID such as spiffe://cluster.local/ns/NS/sa/SA (${why})`, ctx.value),
      input: ctx.value,
    });
  }
});

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `scheme://user:password@host` — also when the rest does not parse as a URL. */
function hasCredentials(s: string): boolean {
  if (URL.canParse(s)) {
    const u = new URL(s);
    return u.username !== '' || u.password !== '';
  }
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(s);
}

/**
 * A URL string, kept exactly as written (a JWT `iss` is compared byte for byte, and
 * `new URL()` would add a trailing slash). `protocols` are the accepted schemes;
 * `loopbackHttp` also allows `http:` to 127.0.0.1, localhost and [::1] (tests, local IdPs);
 * `user:password@` is refused unless `credentials` (Redis passwords live in the URL).
 */
export function url(opts: { protocols: readonly string[]; loopbackHttp?: boolean; credentials?: boolean }) {
  const schemes = opts.protocols.map((p) => p.replace(/:$/, '')).join(' or ');
  const loopback = opts.loopbackHttp === true ? ' (http only for 127.0.0.1, localhost or [::1])' : '';
  const what = `a URL with scheme ${schemes}${loopback}`;
  const accepts = (s: string): boolean => {
    if (!URL.canParse(s)) return false;
    const u = new URL(s);
    if (opts.protocols.includes(u.protocol)) return true;
    return opts.loopbackHttp === true && u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname);
  };
  return z
    .string({ error: expecting(what) })
    .superRefine((s, ctx) => {
      // Credentials first, and never echoed: the value is a secret.
      if (opts.credentials !== true && hasCredentials(s)) {
        ctx.addIssue({ code: 'custom', message: 'credentials in the URL are not allowed (the value is not shown); pass them as headers instead, e.g. OTEL_EXPORTER_OTLP_HEADERS for the OTLP exporter' });
      } else if (!accepts(s)) {
        ctx.addIssue({ code: 'custom', message: expected(what, s), input: s });
      }
    })
    .meta({ description: `A URL with scheme ${schemes}${loopback}; no user:password@ part${opts.credentials === true ? ' unless the scheme needs one' : ''}.` });
}
