// Collects V8's --trace-gc lines of a benchmark process (its stdout) into a pause summary:
// how many scavenges and mark-compacts, their pauses in total and at most. A line looks like
//   [pid:0x…]   1234 ms: Scavenge 4.1 (5.8) -> 3.5 (6.8) MB, 0.62 / 0.00 ms  (average mu …
// (the first number after "MB, " is the pause on the main thread; Node 24's V8 writes
// "MB, pooled: 0 MB, 0.62 / 0.00 ms").

import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface GcSummary {
  readonly scavenges: number;
  readonly markCompacts: number;
  /** Main-thread pause, ms. */
  readonly totalPauseMs: number;
  readonly maxPauseMs: number;
  readonly maxScavengeMs: number;
  readonly maxMarkCompactMs: number;
}

const LINE = /ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact|Minor Mark-Sweep)[^,]*, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ /;

export class GcTrace {
  private scavenges = 0;
  private markCompacts = 0;
  private total = 0;
  private max = 0;
  private maxScavenge = 0;
  private maxMarkCompact = 0;

  /** Reads `stream` line by line until it ends. */
  follow(stream: Readable): void {
    createInterface({ input: stream }).on('line', (line) => this.feed(line));
  }

  feed(line: string): void {
    const m = LINE.exec(line);
    if (m === null) return;
    const pause = Number(m[2]);
    this.total += pause;
    this.max = Math.max(this.max, pause);
    if (m[1]!.startsWith('Scavenge') || m[1]!.startsWith('Minor')) {
      this.scavenges++;
      this.maxScavenge = Math.max(this.maxScavenge, pause);
    } else {
      this.markCompacts++;
      this.maxMarkCompact = Math.max(this.maxMarkCompact, pause);
    }
  }

  summary(): GcSummary {
    return {
      scavenges: this.scavenges,
      markCompacts: this.markCompacts,
      totalPauseMs: this.total,
      maxPauseMs: this.max,
      maxScavengeMs: this.maxScavenge,
      maxMarkCompactMs: this.maxMarkCompact,
    };
  }
}

/** The summaries of several processes (a pair) as one. */
export function sumGc(all: readonly GcSummary[]): GcSummary {
  return {
    scavenges: all.reduce((n, g) => n + g.scavenges, 0),
    markCompacts: all.reduce((n, g) => n + g.markCompacts, 0),
    totalPauseMs: all.reduce((n, g) => n + g.totalPauseMs, 0),
    maxPauseMs: Math.max(0, ...all.map((g) => g.maxPauseMs)),
    maxScavengeMs: Math.max(0, ...all.map((g) => g.maxScavengeMs)),
    maxMarkCompactMs: Math.max(0, ...all.map((g) => g.maxMarkCompactMs)),
  };
}
