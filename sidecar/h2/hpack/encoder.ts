// HPACK encoder (RFC 7541 §6) — data path. Encodes a flat [name, value, ...] list. Fields
// that repeat call after call (method, path, content-type, te, user-agent...) go into the
// dynamic table and cost one octet afterwards; values unique to a call (deadlines, trace
// ids, lengths) are sent without indexing so they do not evict the useful entries; secrets
// are never indexed (§7.1.3), also by the hops after us. The table is bounded by the
// smaller of the peer's SETTINGS_HEADER_TABLE_SIZE and our own cap.

import { DynamicTable } from './dynamic-table.js';
import { huffmanEncode, huffmanLength } from './huffman.js';
import { STATIC_COUNT, STATIC_NAME_INDEX, STATIC_PAIR_INDEX } from './static-table.js';

/** Values that change with every call: indexing them would only churn the table. (`date` changes once a second: it is indexed.) */
const UNINDEXED = new Set([
  'grpc-timeout',
  'content-length',
  'traceparent',
  'tracestate',
  'x-request-id',
  'grpc-message',
  'grpc-status-details-bin',
  'x-forwarded-client-cert',
  'etag',
  'last-modified',
  'age',
  'retry-after',
]);
/** Credentials: never indexed, here or by any intermediary after us (§7.1.3). */
const NEVER_INDEXED = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

export class HpackEncoder {
  private readonly table: DynamicTable;
  /** name → value → sequence number of the dynamic entry holding it. */
  private readonly pairs = new Map<string, Map<string, number>>();
  private pairCount = 0;
  /** name → sequence number of the newest dynamic entry with that name. */
  private readonly names = new Map<string, number>();
  /** A size change to announce at the start of the next block (§4.2), or -1. */
  private pendingSizeUpdate = -1;
  private out: Buffer = Buffer.allocUnsafe(1024);
  private pos = 0;

  constructor(private readonly cap: number = 4096) {
    this.table = new DynamicTable(Math.min(cap, 4096));
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE changed. */
  setPeerTableSize(size: number): void {
    const next = Math.min(size, this.cap);
    if (next === this.table.maxSize) return;
    this.table.resize(next);
    this.pendingSizeUpdate = next;
  }

  /**
   * Encodes `headers` into a new buffer, leaving `reserve` octets free in front (room for
   * the frame header, so the block needs no second copy).
   */
  encode(headers: readonly string[], reserve: number): Buffer {
    this.pos = reserve;
    this.ensure(reserve + 16);
    if (this.pendingSizeUpdate >= 0) {
      this.integer(this.pendingSizeUpdate, 5, 0x20);
      this.pendingSizeUpdate = -1;
    }
    for (let i = 0; i < headers.length; i += 2) this.field(headers[i]!, headers[i + 1]!);
    return Buffer.from(this.out.subarray(0, this.pos));
  }

  private field(name: string, value: string): void {
    this.ensure(name.length + value.length + 16);
    const exact = STATIC_PAIR_INDEX.get(name)?.get(value) ?? this.dynamicIndex(this.pairs.get(name)?.get(value));
    if (exact > 0) {
      this.integer(exact, 7, 0x80);
      return;
    }
    const nameIndex = STATIC_NAME_INDEX.get(name) ?? this.dynamicIndex(this.names.get(name));
    if (NEVER_INDEXED.has(name)) {
      this.literal(name, value, nameIndex, 4, 0x10);
    } else if (name.length + value.length + 32 > this.table.maxSize >> 2 || (UNINDEXED.has(name) && nameIndex > 0)) {
      // A value unique to this call: the name is referenced, the value sent as a literal.
      // (The first time such a name is seen it is indexed with its value, below, so later
      // calls find the name in the table.)
      this.literal(name, value, nameIndex, 4, 0x00);
    } else {
      this.literal(name, value, nameIndex, 6, 0x40);
      this.insert(name, value);
    }
  }

  private dynamicIndex(seq: number | undefined): number {
    if (seq === undefined) return 0;
    const i = this.table.indexOfSeq(seq);
    return i === 0 ? 0 : i + STATIC_COUNT;
  }

  private insert(name: string, value: string): void {
    this.table.add(name, value);
    const seq = this.table.inserted;
    let byValue = this.pairs.get(name);
    if (byValue === undefined) this.pairs.set(name, (byValue = new Map()));
    if (!byValue.has(value)) this.pairCount++;
    byValue.set(value, seq);
    this.names.set(name, seq);
    // Forget evicted entries now and then, so the maps stay as small as the table.
    if (this.pairCount > 256) this.prune();
  }

  private prune(): void {
    this.pairCount = 0;
    for (const [name, byValue] of this.pairs) {
      for (const [v, seq] of byValue) if (this.table.indexOfSeq(seq) === 0) byValue.delete(v);
      if (byValue.size === 0) this.pairs.delete(name);
      this.pairCount += byValue.size;
    }
    for (const [k, seq] of this.names) if (this.table.indexOfSeq(seq) === 0) this.names.delete(k);
  }

  private literal(name: string, value: string, nameIndex: number, prefix: number, pattern: number): void {
    if (nameIndex > 0) this.integer(nameIndex, prefix, pattern);
    else {
      this.out[this.pos++] = pattern;
      this.string(name);
    }
    this.string(value);
  }

  private string(s: string): void {
    const huff = huffmanLength(s);
    if (huff < s.length) {
      this.integer(huff, 7, 0x80);
      this.pos = huffmanEncode(s, this.out, this.pos);
    } else {
      this.integer(s.length, 7, 0x00);
      this.pos += this.out.write(s, this.pos, 'latin1');
    }
  }

  /** §5.1 integer with an N-bit prefix; `pattern` holds the representation's leading bits. */
  private integer(value: number, prefixBits: number, pattern: number): void {
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      this.out[this.pos++] = pattern | value;
      return;
    }
    this.out[this.pos++] = pattern | max;
    value -= max;
    while (value >= 0x80) {
      this.out[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.out[this.pos++] = value;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + extra));
    this.out.copy(bigger, 0, 0, this.pos);
    this.out = bigger;
  }
}
