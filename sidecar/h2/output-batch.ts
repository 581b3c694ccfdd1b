// Write batching per event-loop turn (data path). Frames queued by any connection during
// one turn — every read callback of the poll phase — are written when the turn's check
// phase runs: one socket write per connection and turn (small frames joined into one
// buffer, so TLS makes one record of them), with one timer for the whole process.
// At a low call rate the cost of a call is mostly wake-ups and syscalls, so this matters
// more than parsing speed (FACTS: "HTTP/2 data plane").

import type { Socket } from 'node:net';

/** Up to this many queued octets are joined into one buffer; more go out as one writev. */
const JOIN_LIMIT = 64 * 1024;

export class OutputBatch {
  private bufs: Buffer[] = [];
  private bytes = 0;
  private queued = false;

  constructor(private readonly socket: Socket) {}

  /** Octets queued this turn and not yet handed to the socket. */
  get pending(): number {
    return this.bytes;
  }

  push(buf: Buffer): void {
    this.bufs.push(buf);
    this.bytes += buf.length;
    if (!this.queued) {
      this.queued = true;
      schedule(this);
    }
  }

  /** Writes what is queued now (also called by the turn's flush). */
  flush(): void {
    this.queued = false;
    const bufs = this.bufs;
    if (bufs.length === 0) return;
    const bytes = this.bytes;
    this.bufs = [];
    this.bytes = 0;
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return;
    if (bufs.length === 1) socket.write(bufs[0]!);
    else if (bytes <= JOIN_LIMIT) socket.write(Buffer.concat(bufs, bytes));
    else {
      socket.cork();
      for (const b of bufs) socket.write(b);
      socket.uncork();
    }
  }

  /** Drops what is queued (the connection is being destroyed). */
  discard(): void {
    this.bufs = [];
    this.bytes = 0;
  }
}

let due: OutputBatch[] = [];
let scheduled = false;

function schedule(batch: OutputBatch): void {
  due.push(batch);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}

function flushAll(): void {
  scheduled = false;
  const list = due;
  due = [];
  for (const b of list) b.flush();
}
