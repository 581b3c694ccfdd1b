// A bounded LRU map for analyses, keyed by the document text (short texts) or its SHA-256
// (long ones). DATA path: one key computation and two Map operations per lookup.
import { createHash } from 'node:crypto';

/**
 * Up to this many UTF-16 units the text itself is the key; measured here, V8 hashes a fresh
 * 2 KB string in ~4 µs and SHA-256 takes about the same, and V8 does not hash strings
 * longer than 16,383 units (their hash is their length: a collision attack), so longer
 * texts are keyed by their SHA-256, prefixed with NUL (no valid document starts with NUL,
 * and texts that do are not cached).
 */
export const TEXT_KEY_MAX = 4096;

/** The cache key of a document text, or undefined when it must not be cached. */
export function documentKey(text: string): string | undefined {
  if (text.length <= TEXT_KEY_MAX) return text.charCodeAt(0) === 0 ? undefined : text;
  return `\0${createHash('sha256').update(text).digest('base64')}`;
}

export class LruCache<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly max: number) {}

  /** The value, made most recently used. */
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined && this.map.size > 1) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    if (this.max <= 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }

  get size(): number {
    return this.map.size;
  }
}
