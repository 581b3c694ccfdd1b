// `meshward audit verify` (DESIGN §11; docs/audit.md "Verify"): checks the hash chain of audit
// files and the `prev` links between them, in the order given, and names the first broken
// record (file:line) and what broke. CONTROL path (a CLI and the report), synchronous I/O.
//
// Fast path: lines are split in large chunks and hashed as bytes; only the chain fields at the
// end of each line are parsed (the hash covers the rest). When a line fails, a slow path reads
// on from it to say what happened: edited, deleted, reordered, inserted, truncated head, link.

import { closeSync, openSync, readSync } from 'node:fs';
import { HASH_SUFFIX_LENGTH, LineHasher, parseChainTail, TAIL_WINDOW, type ChainFields } from '../telemetry/audit-chain.js';

export type BreakKind = 'edited' | 'deleted' | 'reordered' | 'inserted' | 'truncated-head' | 'broken-link' | 'malformed' | 'unreadable';

export interface ChainBreak {
  readonly file: string;
  /** 1-based; 0 when the whole file is at fault (unreadable, empty). */
  readonly line: number;
  readonly kind: BreakKind;
  readonly message: string;
}

export interface FileSummary {
  readonly file: string;
  readonly records: number;
  readonly firstSeq: number | undefined;
  readonly lastSeq: number | undefined;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly records: number;
  readonly files: readonly FileSummary[];
  /** `prev` of the very first record: '' = the chain starts here; else it continues an earlier file not given. */
  readonly startsFrom: string | undefined;
  readonly lastSeq: number | undefined;
  readonly lastHash: string | undefined;
  readonly keyed: boolean;
  readonly broken: ChainBreak | undefined;
}

export interface VerifyOptions {
  /** HMAC key the log was written with (audit.hmacKeyFile). */
  readonly key?: Buffer | undefined;
}

const CHUNK_BYTES = 8 * 1024 * 1024;
/** A line longer than this is not a record meshward wrote. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** One line of a file: bytes [start, end) of `buf`, without the "\n". `last` = no "\n" after it (end of file). */
type LineVisitor = (buf: Buffer, start: number, end: number, lineNo: number, last: boolean) => boolean;

/** Calls `visit` for each line; stops when it returns false. Throws for I/O errors and over-long lines. */
export function forEachLine(file: string, visit: LineVisitor): void {
  const fd = openSync(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let filled = 0;
    let lineNo = 0;
    for (;;) {
      if (filled === buf.length) {
        if (buf.length >= MAX_LINE_BYTES) throw new LineTooLong(lineNo + 1);
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const n = readSync(fd, buf, filled, buf.length - filled, null);
      filled += n;
      const view = buf.subarray(0, filled);
      let start = 0;
      for (;;) {
        const nl = view.indexOf(0x0a, start);
        if (nl === -1) break;
        if (!visit(buf, start, nl, ++lineNo, false)) return;
        start = nl + 1;
      }
      if (n === 0) {
        if (start < filled) visit(buf, start, filled, ++lineNo, true);
        return;
      }
      buf.copy(buf, 0, start, filled);
      filled -= start;
    }
  } finally {
    closeSync(fd);
  }
}

class LineTooLong extends Error {
  constructor(readonly line: number) {
    super(`line ${line} is longer than ${MAX_LINE_BYTES} bytes`);
  }
}

/** A parsed line: its chain fields and the body it was hashed over; undefined fields = not a chained record. */
interface Line {
  readonly no: number;
  readonly fields: ChainFields | undefined;
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
  readonly last: boolean;
}

function parseLine(buf: Buffer, start: number, end: number, no: number, last: boolean): Line {
  let fields: ChainFields | undefined;
  if (end - start > HASH_SUFFIX_LENGTH && buf[start] === 0x7b /* { */) {
    const from = Math.max(start, end - TAIL_WINDOW);
    const tail = parseChainTail(buf.toString('latin1', from, end));
    if (tail !== undefined) fields = { ...tail, bodyEnd: from - start + tail.bodyEnd };
  }
  return { no, fields, buf, start, end, last };
}

/** The hash the writer would have given `line` after a record whose hash is `prevHash`. */
function hashOf(hasher: LineHasher, prevHash: string, line: Line): string {
  return hasher.hash(prevHash, line.buf.subarray(line.start, line.start + line.fields!.bodyEnd));
}

export function verifyChain(files: readonly string[], opts: VerifyOptions = {}): VerifyResult {
  const key = opts.key;
  const hasher = new LineHasher(key);
  const summaries: FileSummary[] = [];
  let records = 0;
  let prevHash: string | undefined; // undefined before the first record
  let prevSeq: number | undefined;
  let startsFrom: string | undefined;
  let broken: ChainBreak | undefined;
  /** Set when a line fails: the slow path classifies it. */
  let failed: { line: Line; checkedBefore: boolean } | undefined;
  /** The last file that held records: the one a file's first `prev` must link to. */
  let prevFile: string | undefined;

  for (let i = 0; i < files.length && broken === undefined; i++) {
    const file = files[i]!;
    let fileRecords = 0;
    let firstSeq: number | undefined;
    let lastSeq: number | undefined;
    try {
      forEachLine(file, (buf, start, end, no, last) => {
        const line = parseLine(buf, start, end, no, last);
        const f = line.fields;
        const firstOfFile = fileRecords === 0;
        if (f === undefined || (firstOfFile && f.prev === undefined) || (f.prev !== undefined && prevHash !== undefined && f.prev !== prevHash)) {
          failed = { line: copyLine(line), checkedBefore: records > 0 };
          return false;
        }
        const base = f.prev ?? prevHash!;
        if ((prevSeq !== undefined && f.prev !== '' && f.seq !== prevSeq + 1) || hashOf(hasher, base, line) !== f.hash) {
          failed = { line: copyLine(line), checkedBefore: records > 0 };
          return false;
        }
        if (records === 0) startsFrom = f.prev;
        prevHash = f.hash;
        prevSeq = f.seq;
        firstSeq ??= f.seq;
        lastSeq = f.seq;
        fileRecords++;
        records++;
        return true;
      });
      // An empty file breaks nothing by itself (a file just rotated in); one emptied between
      // others shows as a broken link at the next file.
      if (failed !== undefined) {
        broken = classify(file, failed.line, { key, hasher, prevHash, prevSeq, firstOfFile: fileRecords === 0, prevFile, checkedBefore: failed.checkedBefore });
      }
    } catch (err) {
      broken =
        err instanceof LineTooLong
          ? { file, line: err.line, kind: 'malformed', message: err.message }
          : { file, line: 0, kind: 'unreadable', message: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
    }
    summaries.push({ file, records: fileRecords, firstSeq, lastSeq });
    if (fileRecords > 0) prevFile = file;
  }
  return { ok: broken === undefined, records, files: summaries, startsFrom, lastSeq: prevSeq, lastHash: prevHash, keyed: key !== undefined, broken };
}

/** The failed line outlives the chunk buffer it was read into. */
function copyLine(line: Line): Line {
  const buf = Buffer.from(line.buf.subarray(line.start, line.end));
  return { ...line, buf, start: 0, end: buf.length };
}

interface FailureContext {
  readonly key: Buffer | undefined;
  readonly hasher: LineHasher;
  readonly prevHash: string | undefined;
  readonly prevSeq: number | undefined;
  readonly firstOfFile: boolean;
  readonly prevFile: string | undefined;
  /** Whether a record before this one verified (in this run). */
  readonly checkedBefore: boolean;
}

/** Slow path: what broke at `line`, from it and the lines after it in the same file. */
function classify(file: string, line: Line, ctx: FailureContext): ChainBreak {
  const at = (kind: BreakKind, message: string): ChainBreak => ({ file, line: line.no, kind, message });
  const f = line.fields;
  const expected = ctx.prevSeq === undefined ? undefined : ctx.prevSeq + 1;
  const next = lineAfter(file, line.no);
  const nextChainsOnPrev =
    next?.fields !== undefined && ctx.prevHash !== undefined && (next.fields.prev === undefined || next.fields.prev === ctx.prevHash) && hashOf(ctx.hasher, ctx.prevHash, next) === next.fields.hash;

  if (f === undefined) {
    if (nextChainsOnPrev) return at('inserted', 'not a chained record, and the chain continues on the next line: a line was inserted (or a write torn by a crash)');
    if (line.last) return at('malformed', 'the last line is incomplete: a write torn by a crash, or the file was cut');
    return at('edited', 'not a chained record (no `…,"seq":N,"hash":"…"}` at the end): the line was edited');
  }
  if (ctx.firstOfFile && f.prev === undefined) {
    return at('truncated-head', "the file's first record has no `prev`: records before it were removed (or the file was truncated in place, e.g. logrotate copytruncate)");
  }
  if (f.prev !== undefined && ctx.prevHash !== undefined && f.prev !== ctx.prevHash) {
    if (ctx.firstOfFile && ctx.prevFile !== undefined) {
      const why = f.prev === '' ? 'this file starts a new chain (prev "")' : `its prev ${short(f.prev)} is not the last hash of ${ctx.prevFile} (${short(ctx.prevHash)})`;
      return at('broken-link', `broken prev link from ${ctx.prevFile} (ends at seq ${ctx.prevSeq}) to this file (starts at seq ${f.seq}): ${why} — a file between them is missing, the files are out of order, or ${ctx.prevFile} lost its last records`);
    }
    if (f.prev === '') return at('broken-link', `the chain restarts here (prev "", seq ${f.seq}): the writer found no earlier record when it started (a file replaced or emptied?)`);
  }
  if (expected !== undefined && f.seq !== expected && f.prev !== '') {
    if (f.seq > expected) {
      const found = findSeq(file, line.no, expected);
      if (found !== undefined) return at('reordered', `seq ${f.seq} where ${expected} was expected; seq ${expected} is at line ${found}: records were reordered`);
      const missing = f.seq - expected;
      return at('deleted', `seq ${f.seq} follows seq ${ctx.prevSeq}: ${missing === 1 ? `record ${expected} is` : `records ${expected}..${f.seq - 1} (${missing}) are`} missing before this line`);
    }
    if (nextChainsOnPrev) return at('inserted', `a record that is not part of the chain (seq ${f.seq} again after ${ctx.prevSeq}; the chain continues on the next line)`);
    return at('reordered', `seq ${f.seq} follows seq ${ctx.prevSeq}: records were reordered or duplicated`);
  }
  if (f.prev !== undefined && ctx.prevHash !== undefined && f.prev !== ctx.prevHash) {
    return at('edited', `prev ${short(f.prev)} is not the previous record's hash ${short(ctx.prevHash)}: the previous record was edited and re-hashed`);
  }
  // The sequence fits; the hash does not.
  if (nextChainsOnPrev && next!.fields!.seq === f.seq) return at('inserted', `a record that is not part of the chain (seq ${f.seq}; the chain continues on the next line)`);
  const nextChainsOnThis = next?.fields !== undefined && next.fields.prev === undefined && hashOf(ctx.hasher, f.hash, next) === next.fields.hash;
  // Its stored hash is the one the writer gave it (the next record chains on it): its text
  // changed, or — possible only without a key — the record before it was edited and re-hashed.
  if (nextChainsOnThis && ctx.key !== undefined) return at('edited', 'the record does not match its hash: it was changed after it was written');
  if (nextChainsOnThis) return at('edited', 'the record does not match its hash: it was changed after it was written, or the record before it was edited and re-hashed (use audit.hmacKeyFile to tell them apart)');
  if (!ctx.checkedBefore) {
    const hint = ctx.key === undefined ? 'if the log was written with audit.hmacKeyFile, pass --hmac-key-file' : 'or --hmac-key-file is not the key the log was written with';
    return at('edited', `the record does not match its hash: it was changed after it was written (${hint})`);
  }
  return at('edited', 'the record does not match its hash: it, or the record before it (re-hashed after an edit), was changed');
}

/** The line after line `no` of `file`, parsed; undefined at the end. */
function lineAfter(file: string, no: number): Line | undefined {
  let found: Line | undefined;
  forEachLine(file, (buf, start, end, n, last) => {
    if (n <= no) return true;
    found = copyLine(parseLine(buf, start, end, n, last));
    return false;
  });
  return found;
}

/** The line number after `after` holding a record with `seq`, if any. */
function findSeq(file: string, after: number, seq: number): number | undefined {
  let found: number | undefined;
  forEachLine(file, (buf, start, end, n, last) => {
    if (n <= after) return true;
    if (parseLine(buf, start, end, n, last).fields?.seq === seq) found = n;
    return found === undefined;
  });
  return found;
}

function short(hash: string): string {
  return hash === '' ? '""' : hash.slice(0, 12) + '…';
}
