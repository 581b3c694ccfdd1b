// Where an existing audit file's chain ends (CONTROL path: once when the writer opens the file),
// so a restarted sidecar continues the chain (DESIGN §11): the last complete chained record
// within the file's last MAX_SCAN_BYTES, and whether the file ends in the middle of a line.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseChainTail, TAIL_WINDOW } from './audit-chain.js';

/** How far back from the end a chained record is looked for. */
const MAX_SCAN_BYTES = 1024 * 1024;
const STEP_BYTES = 64 * 1024;

export interface ChainTail {
  /** The last chained record found; undefined when none (new, empty or unchained file). */
  readonly last: { readonly seq: number; readonly hash: string } | undefined;
  /** The file does not end with "\n" (a write torn by a crash): the writer starts with one. */
  readonly torn: boolean;
}

/** Reads the end of `file`; a missing file is an empty one. Other errors throw. */
export function readChainTail(file: string, maxScanBytes = MAX_SCAN_BYTES): ChainTail {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { last: undefined, torn: false };
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return { last: undefined, torn: false };
    const end1 = Buffer.alloc(1);
    readSync(fd, end1, 0, 1, size - 1);
    const torn = end1[0] !== 0x0a;
    let window = Math.min(size, STEP_BYTES);
    for (;;) {
      const buf = Buffer.alloc(window);
      readSync(fd, buf, 0, window, size - window);
      const last = lastRecord(buf, window === size);
      if (last !== undefined || window === size || window >= maxScanBytes) return { last, torn };
      window = Math.min(size, window * 4, maxScanBytes);
    }
  } finally {
    closeSync(fd);
  }
}

/** The last line of `buf` that ends like a chained record; the first line counts only if `wholeFile`. */
function lastRecord(buf: Buffer, wholeFile: boolean): ChainTail['last'] {
  let end = buf.length;
  while (end > 0) {
    const nl = buf.lastIndexOf(0x0a, end - 1);
    const start = nl + 1;
    if (nl === -1 && !wholeFile) return undefined; // a partial first line: look further back
    if (end > start && buf[start] === 0x7b /* { */) {
      const fields = parseChainTail(buf.toString('latin1', Math.max(start, end - TAIL_WINDOW), end));
      if (fields !== undefined) return { seq: fields.seq, hash: fields.hash };
    }
    if (nl === -1) return undefined;
    end = nl;
  }
  return undefined;
}
