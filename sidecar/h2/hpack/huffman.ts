// HPACK's static Huffman code (RFC 7541 §5.2, Appendix B) — data path. The code is
// canonical, so the table is the 257 code lengths; the codes and a 4-bit decoding state
// machine are derived from them once at load. Strings are latin1 (one char per octet).

/** Code length in bits of each symbol 0..255 and EOS (256), RFC 7541 Appendix B. */
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6,
  7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23,
  24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21,
  23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27,
  27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26,
  27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];
const EOS = 256;

/** Canonical codes: by length, then by symbol. */
const CODES = new Uint32Array(257);
{
  const order = [...LENGTHS.keys()].sort((a, b) => LENGTHS[a]! - LENGTHS[b]! || a - b);
  let code = 0;
  let prev = LENGTHS[order[0]!]!;
  for (const sym of order) {
    code = code * 2 ** (LENGTHS[sym]! - prev);
    prev = LENGTHS[sym]!;
    CODES[sym] = code++;
  }
}
const LENS = Uint8Array.from(LENGTHS);

// Decoding: a binary tree of 256 inner nodes (0 = root), walked four bits at a time. For
// each (node, nibble): the next node, the symbol emitted on the way (codes are ≥ 5 bits,
// so at most one), or a failure (EOS inside a string, §5.2).
const EMIT = 1 << 16;
const FAIL = 1 << 17;
const TRANSITIONS = new Uint32Array(256 * 16);
/** Nodes where a string may end: the root, or ≤ 7 one-bits into a code (EOS's prefix as padding). */
const ACCEPT = new Uint8Array(256);
{
  // children[node*2 + bit]: inner node n ≥ 0, or leaf -(symbol + 1).
  const children = new Int32Array(512).fill(0x7fffffff);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    let node = 0;
    for (let i = LENS[sym]! - 1; i >= 0; i--) {
      const bit = Math.floor(CODES[sym]! / 2 ** i) & 1;
      const slot = node * 2 + bit;
      if (i === 0) children[slot] = -(sym + 1);
      else {
        if (children[slot] === 0x7fffffff) children[slot] = nodes++;
        node = children[slot]!;
      }
    }
  }
  // Padding check: inner nodes reached from the root by one-bits only, depth 1..7.
  ACCEPT[0] = 1;
  for (let node = 0, depth = 0; depth < 7; depth++) {
    node = children[node * 2 + 1]!;
    ACCEPT[node] = 1;
  }
  for (let node = 0; node < 256; node++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let cur = node;
      let out = 0;
      for (let b = 3; b >= 0; b--) {
        const next = children[cur * 2 + ((nibble >> b) & 1)]!;
        if (next >= 0) cur = next;
        else {
          const sym = -next - 1;
          if (sym === EOS) out |= FAIL;
          else out |= EMIT | (sym << 8);
          cur = 0;
        }
      }
      TRANSITIONS[node * 16 + nibble] = out | cur;
    }
  }
}

let scratch = Buffer.allocUnsafe(4096);

/** Decodes `src[start, end)`; undefined when the string is not a valid Huffman encoding (§5.2). */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string | undefined {
  // The shortest code is 5 bits: at most 8/5 symbols per octet.
  const max = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < max) scratch = Buffer.allocUnsafe(Math.max(max, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    let t = TRANSITIONS[state * 16 + (byte >> 4)]!;
    if ((t & FAIL) !== 0) return undefined;
    if ((t & EMIT) !== 0) out[n++] = (t >> 8) & 0xff;
    state = t & 0xff;
    t = TRANSITIONS[state * 16 + (byte & 0xf)]!;
    if ((t & FAIL) !== 0) return undefined;
    if ((t & EMIT) !== 0) out[n++] = (t >> 8) & 0xff;
    state = t & 0xff;
  }
  if (ACCEPT[state] === 0) return undefined;
  return out.toString('latin1', 0, n);
}

/** Length in octets of the Huffman encoding of a latin1 string. */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += LENS[s.charCodeAt(i) & 0xff]!;
  return (bits + 7) >> 3;
}

/** Writes the Huffman encoding of `s` at `out[pos]`, padded with EOS's prefix; returns the end. */
export function huffmanEncode(s: string, out: Uint8Array, pos: number): number {
  // `acc` holds `bits` (< 8) pending bits; a code of up to 24 bits fits beside them in 31.
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    let len = LENS[sym]!;
    const code = CODES[sym]!;
    if (len > 24) {
      // Rare long codes (control and high octets): their top bits first.
      const high = len - 24;
      acc = (acc << high) | (code >>> 24);
      bits += high;
      len = 24;
      while (bits >= 8) {
        bits -= 8;
        out[pos++] = (acc >>> bits) & 0xff;
      }
      acc &= (1 << bits) - 1;
    }
    acc = (acc << len) | (code & 0xffffff);
    bits += len;
    while (bits >= 8) {
      bits -= 8;
      out[pos++] = (acc >>> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out[pos++] = ((acc << (8 - bits)) | (0xff >> bits)) & 0xff;
  return pos;
}
