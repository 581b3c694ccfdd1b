// The audit log's hash chain (DESIGN §11; docs/audit.md "The chain"): how a record's line is
// built and hashed, shared by the writer (audit-log.ts) and the verifier (audit/verify-chain.ts).
// Pure functions; the writer calls them off the request path (one flush per event-loop turn).
//
// A line is the record's JSON text with `,"seq":N` (and on the first record of a file
// `,"prev":"HEX"`) before the closing brace, then `,"hash":"HEX"` as the last member:
//   hash = hex(SHA-256 or HMAC-SHA-256(key) of: previous hash + "\n" + the line without `,"hash":"…"`)

import { createHmac, hash as oneShotHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** `,"hash":"` + 64 hex digits + `"}`: the fixed-length end of every chained line. */
export const HASH_MEMBER = ',"hash":"';
export const HASH_SUFFIX_LENGTH = HASH_MEMBER.length + 64 + 2;
/** Shortest accepted HMAC key, in bytes. */
export const MIN_KEY_BYTES = 16;

/** The chain fields at the end of a line, as parseChainTail reads them. */
export interface ChainFields {
  readonly seq: number;
  /** Present on the first record of a file: the previous file's last hash ('' = a new chain). */
  readonly prev: string | undefined;
  readonly hash: string;
  /** Characters of the tail text before `,"hash":` (so `text.slice(0, bodyEnd) + '}'` is the hashed body). */
  readonly bodyEnd: number;
}

// Anchored at the end: the writer puts seq, then prev, then hash last, in this order.
const TAIL = /,"seq":(0|[1-9]\d{0,15})(?:,"prev":"((?:[0-9a-f]{64})?)")?,"hash":"([0-9a-f]{64})"\}$/;
/** Enough of a line's end to hold every chain field (seq ≤ 16 digits, prev, hash). */
export const TAIL_WINDOW = 200;

/** The hash of a line whose text without the hash member is `body` (ends with "}"). */
export function chainHash(key: Buffer | undefined, prevHash: string, body: string): string {
  // crypto.hash (one shot) costs half of createHash here; HMAC has no one-shot form.
  const input = `${prevHash}\n${body}`;
  return key === undefined ? oneShotHash('sha256', input) : createHmac('sha256', key).update(input).digest('hex');
}

/**
 * chainHash over bytes, for the verifier: `body` is the line's bytes up to its hash member (the
 * closing "}" is added). Reuses one buffer so a line costs one copy and one hash call.
 */
export class LineHasher {
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(private readonly key: Buffer | undefined) {}

  hash(prevHash: string, body: Buffer): string {
    const need = prevHash.length + body.length + 2;
    if (need > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(need, this.scratch.length * 2));
    const at = this.scratch.write(prevHash, 0, 'latin1');
    this.scratch[at] = 0x0a;
    body.copy(this.scratch, at + 1);
    this.scratch[at + 1 + body.length] = 0x7d; // }
    const input = this.scratch.subarray(0, at + body.length + 2);
    return this.key === undefined ? oneShotHash('sha256', input) : createHmac('sha256', this.key).update(input).digest('hex');
  }
}

/**
 * The chain fields of a line's text (or of its last TAIL_WINDOW characters); undefined when the
 * text does not end like a chained record. Latin-1 decoding of raw bytes is fine: every
 * character the pattern looks at is ASCII.
 */
export function parseChainTail(text: string): ChainFields | undefined {
  const m = TAIL.exec(text);
  if (m === null) return undefined;
  const seq = Number(m[1]);
  if (!Number.isSafeInteger(seq)) return undefined;
  return { seq, prev: m[2], hash: m[3]!, bodyEnd: m.index + m[0].length - HASH_SUFFIX_LENGTH };
}

/**
 * The writer's state: the last hash and seq, and whether the next line starts a file (and so
 * carries `prev`). `append` returns the complete line (with "\n").
 */
export class ChainState {
  constructor(
    private readonly key: Buffer | undefined,
    /** The last record's hash ('' before the first record of a new chain). */
    public hash = '',
    /** The last record's seq (0 before the first). */
    public seq = 0,
    /** The next line is the first of a file (after start or reopen). */
    public startsFile = true,
  ) {}

  /** `json` is JSON.stringify of a record object (non-empty); `extra` members go before seq (e.g. `"dropped":3`). */
  append(json: string, extra = ''): string {
    const open = json.length > 2 ? json.slice(0, -1) + ',' : '{';
    const prev = this.startsFile ? `,"prev":"${this.hash}"` : '';
    const body = `${open}${extra === '' ? '' : extra + ','}"seq":${this.seq + 1}${prev}}`;
    const hash = chainHash(this.key, this.hash, body);
    this.seq++;
    this.hash = hash;
    this.startsFile = false;
    return `${body.slice(0, -1)}${HASH_MEMBER}${hash}"}\n`;
  }
}

/**
 * Reads an HMAC key file: its bytes, without one trailing newline (so `openssl rand -hex 32 > key`
 * works). Throws a message naming the file when it is unreadable or too short.
 */
export function readHmacKey(file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: cannot read the HMAC key (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  const key = bytes.subarray(0, end);
  if (key.length < MIN_KEY_BYTES) throw new Error(`${file}: the HMAC key has ${key.length} bytes; at least ${MIN_KEY_BYTES} are needed (e.g. openssl rand -hex 32)`);
  return key;
}
