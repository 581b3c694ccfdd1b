// Audit log (DESIGN §6, §11): one JSON line per decision that was not a plain allow, each line
// hash-chained to the one before (audit-chain.ts). Writes never block a call: `write` queues the
// record, and one flush per event-loop turn serializes, hashes and writes the queued records.
// When the destination falls behind by more than `maxBacklogBytes` (or the queue is full),
// records are dropped and counted, and the next record written says how many (`dropped`).
// The file is reopened on demand (SIGHUP) for log rotation; a restarted writer continues the
// chain from the file's last record (audit-tail.ts). Never records a token.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { log } from '../core/log.js';
import { ChainState, readHmacKey } from './audit-chain.js';
import { readChainTail } from './audit-tail.js';

export interface AuditRecord {
  readonly time: string;
  readonly decision: 'allow' | 'deny' | 'audit_deny';
  readonly reason: string;
  readonly rule: string | null;
  readonly policy_version: string | null;
  readonly protocol: 'grpc' | 'graphql' | 'http';
  readonly method: string;
  readonly principal: string | null;
  readonly subject: string | null;
  readonly status: number;
  readonly trace_id: string | null;
  readonly span_id: string | null;
  readonly duration_ms: number;
  /** The failed condition and the values seen, for people; never a token. */
  readonly detail?: string;
  /** GraphQL calls, once analyzed: the operation type and name, and its computed cost (never the document). */
  readonly graphql?: { readonly operation_type: string | null; readonly operation_name: string | null; readonly cost: number | null; readonly operations: number };
  /** With `workers` > 1: the worker process that decided (the primary writes every worker's records). */
  readonly worker?: number;
  /** Message validation: the ids of the protovalidate constraints a request message broke. */
  readonly constraints?: readonly string[];
}

export interface AuditSink {
  write(record: AuditRecord): void;
}

export interface AuditLogOptions {
  /** HMAC-SHA-256 key (`audit.hmacKeyFile`); without one the chain uses plain SHA-256. */
  readonly hmacKey?: Buffer | undefined;
  readonly maxBacklogBytes?: number;
  /** Records queued for the next flush, at most. */
  readonly maxPending?: number;
}

/** The audit log of the config's `audit` section; throws when the HMAC key file is unusable. */
export function openAuditLog(audit: { readonly file: string; readonly hmacKeyFile?: string | undefined }): AuditLog {
  return new AuditLog(audit.file, { hmacKey: audit.hmacKeyFile === undefined ? undefined : readHmacKey(audit.hmacKeyFile) });
}

const DEFAULT_MAX_BACKLOG = 4 * 1024 * 1024;
const DEFAULT_MAX_PENDING = 16_384;

export class AuditLog implements AuditSink {
  private out: Writable;
  private readonly chain: ChainState;
  private readonly maxBacklogBytes: number;
  private readonly maxPending: number;
  private pending: AuditRecord[] = [];
  /** Per pending record: how many records were dropped just before it (0 mostly). */
  private pendingDrops: number[] = [];
  private scheduled = false;
  /** The next write starts with "\n": the file ended in a torn line. */
  private needNewline = false;
  /** Dropped since the last record queued: the next one queued says so. */
  private droppedBeforeNext = 0;
  private dropped = 0;
  private written = 0;
  /** Set while the old file is being closed (SIGHUP): records wait in `pending`. */
  private reopening: Promise<void> | undefined;
  private reopenAgain = false;

  /** `file` is "-" for stdout, or a path opened for append (its chain continued). */
  constructor(
    private readonly file: string,
    opts: AuditLogOptions = {},
  ) {
    this.maxBacklogBytes = opts.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG;
    this.maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
    this.chain = new ChainState(opts.hmacKey);
    if (file !== '-') {
      const tail = readChainTail(file);
      this.needNewline = tail.torn;
      if (tail.last !== undefined) {
        this.chain.seq = tail.last.seq;
        this.chain.hash = tail.last.hash;
      }
      log.info('audit log', { file, keyed: opts.hmacKey !== undefined, continuesFrom: tail.last?.seq ?? null, tornLastLine: tail.torn });
    }
    this.out = this.open();
  }

  /** DATA path: queues the record; no serialization, hashing or I/O here. */
  write(record: AuditRecord): void {
    if (this.pending.length >= this.maxPending || this.out.writableLength > this.maxBacklogBytes) {
      this.noteDropped(1);
      return;
    }
    this.pending.push(record);
    this.pendingDrops.push(this.droppedBeforeNext);
    this.droppedBeforeNext = 0;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Records lost before they reached this log (here, or in a worker's queue): the next record says how many. */
  noteDropped(n: number): void {
    if (n <= 0) return;
    if (this.dropped % 1000 === 0) log.warn('audit log falling behind: dropping records', { dropped: this.dropped + n });
    this.dropped += n;
    this.droppedBeforeNext += n;
  }

  get stats(): { written: number; dropped: number } {
    return { written: this.written, dropped: this.dropped };
  }

  /** The chain's position: the last seq and hash written (or continued from). */
  get position(): { seq: number; hash: string } {
    return { seq: this.chain.seq, hash: this.chain.hash };
  }

  /**
   * Reopens the file (after rotation moved it away). The old file is closed first, so no record
   * lands in it after one in the new file; the new file's first record carries `prev`. No-op for stdout.
   */
  reopen(): void {
    if (this.file === '-') return;
    if (this.reopening !== undefined) {
      this.reopenAgain = true;
      return;
    }
    this.flush();
    const old = this.out;
    this.reopening = new Promise<void>((resolve) => old.end(() => resolve())).then(() => {
      this.needNewline = readChainTail(this.file).torn;
      this.chain.startsFile = true;
      this.out = this.open();
      this.reopening = undefined;
      if (this.reopenAgain) {
        this.reopenAgain = false;
        this.reopen();
      } else this.flush();
    });
  }

  /** Writes what is queued and closes the file. */
  async close(): Promise<void> {
    while (this.reopening !== undefined) await this.reopening;
    this.flush();
    if (this.file === '-') return;
    await new Promise<void>((resolve) => this.out.end(() => resolve()));
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.reopening !== undefined || this.pending.length === 0) return;
    const records = this.pending;
    const drops = this.pendingDrops;
    this.pending = [];
    this.pendingDrops = [];
    let text = this.needNewline ? '\n' : '';
    this.needNewline = false;
    for (let i = 0; i < records.length; i++) {
      const dropped = drops[i]!;
      text += this.chain.append(JSON.stringify(records[i]), dropped === 0 ? '' : `"dropped":${dropped}`);
    }
    this.written += records.length;
    this.out.write(text);
  };

  private open(): Writable {
    if (this.file === '-') return process.stdout;
    const stream: WriteStream = createWriteStream(this.file, { flags: 'a', mode: 0o640 });
    stream.on('error', (err) => log.error('audit log write failed', { file: this.file, error: err.message }));
    return stream;
  }
}
