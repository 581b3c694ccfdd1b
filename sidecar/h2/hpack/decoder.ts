// HPACK decoder (RFC 7541 §3, §6) — data path. Decodes one complete header block into a
// flat list [name, value, name, value, ...] of latin1 strings. Bounded: the dynamic table
// by our SETTINGS_HEADER_TABLE_SIZE (a size update above it is a decoding error, §6.3),
// the decoded list by SETTINGS_MAX_HEADER_LIST_SIZE and a field count. A block over those
// bounds is still decoded to the end — the table must stay in step with the peer's
// encoder — but its fields are dropped and the caller refuses the stream alone.

import { DynamicTable } from './dynamic-table.js';
import { huffmanDecode } from './huffman.js';
import { STATIC_COUNT, STATIC_TABLE } from './static-table.js';

export const DecodeResult = {
  OK: 0,
  /** The block decoded, but the list is over the size or field-count bound: refuse the stream. */
  TOO_LARGE: 1,
  /** Not a valid HPACK block: a connection error of type COMPRESSION_ERROR (RFC 9113 §4.3). */
  COMPRESSION_ERROR: 2,
} as const;
export type DecodeResult = (typeof DecodeResult)[keyof typeof DecodeResult];

const ENTRY_OVERHEAD = 32;

export class HpackDecoder {
  private readonly table: DynamicTable;
  /** What went wrong with the last block, for logs. */
  error = '';
  private pos = 0;

  constructor(
    /** Our SETTINGS_HEADER_TABLE_SIZE: the largest table the peer may ask for. */
    private readonly maxTableSize: number,
    /** Our SETTINGS_MAX_HEADER_LIST_SIZE (name + value + 32 per field). */
    private readonly maxListSize: number,
    private readonly maxFields: number,
  ) {
    this.table = new DynamicTable(maxTableSize);
  }

  /** Octets held by the dynamic table (for tests and stats). */
  get tableSize(): number {
    return this.table.size;
  }

  /** Decodes `block[start, end)` into `out` (cleared first). */
  decode(block: Uint8Array, start: number, end: number, out: string[]): DecodeResult {
    out.length = 0;
    this.pos = start;
    let listSize = 0;
    let tooLarge = false;
    let fieldSeen = false;
    while (this.pos < end) {
      const first = block[this.pos]!;
      let name: string | undefined;
      let value: string | undefined;
      if (first & 0x80) {
        // §6.1 indexed field
        const index = this.integer(block, end, 7);
        if (index <= 0) return this.fail(index === 0 ? 'index 0' : 'bad integer');
        name = this.nameAt(index);
        if (name === undefined) return this.fail(`index ${index} out of range`);
        value = index <= STATIC_COUNT ? STATIC_TABLE[index]![1] : this.table.value(index - STATIC_COUNT);
      } else if ((first & 0xe0) === 0x20) {
        // §6.3 dynamic table size update: only before the first field (§4.2)
        if (fieldSeen) return this.fail('table size update after a field');
        const size = this.integer(block, end, 5);
        if (size < 0) return this.fail('bad integer');
        if (size > this.maxTableSize) return this.fail(`table size ${size} over our setting ${this.maxTableSize}`);
        this.table.resize(size);
        continue;
      } else {
        // §6.2 literal: with incremental indexing (01), without (0000), never indexed (0001)
        const indexing = (first & 0xc0) === 0x40;
        const index = this.integer(block, end, indexing ? 6 : 4);
        if (index < 0) return this.fail('bad integer');
        if (index === 0) name = this.string(block, end);
        else name = this.nameAt(index);
        if (name === undefined) return this.fail(index === 0 ? 'bad name literal' : `index ${index} out of range`);
        value = this.string(block, end);
        if (value === undefined) return this.fail('bad value literal');
        if (indexing) this.table.add(name, value);
      }
      fieldSeen = true;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (tooLarge || listSize > this.maxListSize || out.length >= this.maxFields * 2) {
        tooLarge = true;
        continue;
      }
      out.push(name, value);
    }
    if (tooLarge) {
      out.length = 0;
      this.error = `header list over ${this.maxListSize} octets or ${this.maxFields} fields`;
      return DecodeResult.TOO_LARGE;
    }
    return DecodeResult.OK;
  }

  private fail(why: string): DecodeResult {
    this.error = why;
    return DecodeResult.COMPRESSION_ERROR;
  }

  private nameAt(index: number): string | undefined {
    return index <= STATIC_COUNT ? STATIC_TABLE[index]?.[0] : this.table.name(index - STATIC_COUNT);
  }

  /** §5.1 integer with an N-bit prefix at this.pos; -1 when truncated or over 2^28. */
  private integer(block: Uint8Array, end: number, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = block[this.pos++]! & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= end || shift > 21) return -1;
      const b = block[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return value;
    }
  }

  /** §5.2 string literal at this.pos; undefined when truncated or a bad Huffman encoding. */
  private string(block: Uint8Array, end: number): string | undefined {
    if (this.pos >= end) return undefined;
    const huffman = (block[this.pos]! & 0x80) !== 0;
    const length = this.integer(block, end, 7);
    if (length < 0 || this.pos + length > end) return undefined;
    const start = this.pos;
    this.pos += length;
    if (huffman) return huffmanDecode(block, start, this.pos);
    return latin1(block, start, this.pos);
  }
}

function latin1(block: Uint8Array, start: number, end: number): string {
  // Short names and values are the rule: building the string directly beats a Buffer call.
  if (end - start < 24) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(block[i]!);
    return s;
  }
  return Buffer.from(block.buffer, block.byteOffset + start, end - start).toString('latin1');
}
