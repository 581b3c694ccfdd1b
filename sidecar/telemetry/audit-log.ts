// Audit log (DESIGN §6): one JSON line per decision that was not a plain allow.
// Writes never block a call: when the destination falls behind by more than
// `maxBacklogBytes`, records are dropped and counted. The file is reopened on demand
// (SIGHUP) for log rotation. Never records a token.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { log } from '../core/log.js';

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
  /** Message validation: the ids of the protovalidate constraints a request message broke. */
  readonly constraints?: readonly string[];
}

export interface AuditSink {
  write(record: AuditRecord): void;
}

const DEFAULT_MAX_BACKLOG = 4 * 1024 * 1024;

export class AuditLog implements AuditSink {
  private out: Writable;
  private dropped = 0;
  private written = 0;

  /** `file` is "-" for stdout, or a path opened for append. */
  constructor(
    private readonly file: string,
    private readonly maxBacklogBytes = DEFAULT_MAX_BACKLOG,
  ) {
    this.out = this.open();
  }

  write(record: AuditRecord): void {
    if (this.out.writableLength > this.maxBacklogBytes) {
      if (this.dropped++ % 1000 === 0) log.warn('audit log falling behind: dropping records', { dropped: this.dropped });
      return;
    }
    this.written++;
    this.out.write(JSON.stringify(record) + '\n');
  }

  get stats(): { written: number; dropped: number } {
    return { written: this.written, dropped: this.dropped };
  }

  /** Reopens the file (after rotation moved it away). No-op for stdout. */
  reopen(): void {
    if (this.file === '-') return;
    const old = this.out;
    this.out = this.open();
    old.end();
  }

  async close(): Promise<void> {
    if (this.file === '-') return;
    await new Promise<void>((resolve) => this.out.end(() => resolve()));
  }

  private open(): Writable {
    if (this.file === '-') return process.stdout;
    const stream: WriteStream = createWriteStream(this.file, { flags: 'a', mode: 0o640 });
    stream.on('error', (err) => log.error('audit log write failed', { file: this.file, error: err.message }));
    return stream;
  }
}
