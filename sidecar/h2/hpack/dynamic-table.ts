// HPACK's dynamic table (RFC 7541 §2.3.2, §4) — data path. A ring of entries, newest at
// index 1; an entry costs name + value + 32 octets and the oldest are evicted to stay
// within the maximum size. Each entry also has a sequence number, so the encoder can keep
// maps from a field to the entry that holds it without renumbering on every insertion.

const ENTRY_OVERHEAD = 32;

export class DynamicTable {
  private names: string[] = new Array(16);
  private values: string[] = new Array(16);
  /** Index of the oldest entry in the ring, and how many entries are held. */
  private head = 0;
  private count = 0;
  size = 0;
  /** Entries ever inserted; the newest has sequence number `inserted`. */
  inserted = 0;

  constructor(public maxSize: number) {}

  get length(): number {
    return this.count;
  }

  /** Entry i (1 = newest); undefined when out of range. */
  name(i: number): string | undefined {
    if (i < 1 || i > this.count) return undefined;
    return this.names[(this.head + this.count - i) & (this.names.length - 1)];
  }

  value(i: number): string {
    return this.values[(this.head + this.count - i) & (this.names.length - 1)]!;
  }

  /** The index (1 = newest) of the entry with sequence number `seq`, or 0 if evicted. */
  indexOfSeq(seq: number): number {
    const i = this.inserted - seq + 1;
    return i >= 1 && i <= this.count ? i : 0;
  }

  /** Inserts an entry, evicting as needed; one larger than the table empties it (§4.4). */
  add(name: string, value: string): void {
    const cost = name.length + value.length + ENTRY_OVERHEAD;
    this.inserted++;
    if (cost > this.maxSize) {
      this.clear();
      return;
    }
    this.evictTo(this.maxSize - cost);
    if (this.count === this.names.length) this.grow();
    const at = (this.head + this.count) & (this.names.length - 1);
    this.names[at] = name;
    this.values[at] = value;
    this.count++;
    this.size += cost;
  }

  /** A new maximum size (a size update, §6.3, or a SETTINGS change for the encoder). */
  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evictTo(maxSize);
  }

  private evictTo(limit: number): void {
    while (this.size > limit && this.count > 0) {
      const at = this.head;
      this.size -= this.names[at]!.length + this.values[at]!.length + ENTRY_OVERHEAD;
      this.names[at] = '';
      this.values[at] = '';
      this.head = (this.head + 1) & (this.names.length - 1);
      this.count--;
    }
  }

  private clear(): void {
    this.evictTo(0);
  }

  private grow(): void {
    const n = this.names.length;
    const names: string[] = new Array(n * 2);
    const values: string[] = new Array(n * 2);
    for (let i = 0; i < this.count; i++) {
      names[i] = this.names[(this.head + i) & (n - 1)]!;
      values[i] = this.values[(this.head + i) & (n - 1)]!;
    }
    this.names = names;
    this.values = values;
    this.head = 0;
  }
}
