// Links a parsed YAML document to its source text: the offset of the node at a path (to
// place a schema problem), and the path of the node at an offset (to name the path of a
// YAML error). CONTROL path.
import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';

export type PathSegment = string | number;

interface Ranged {
  range?: readonly [number, number, number] | null;
}

/**
 * Source offset for a problem at `path`: the value there; with `key: true` the last key
 * itself (unknown keys). When the path runs out of the document (a missing key or list
 * item), the offset of the deepest collection that exists: "the parent map".
 */
export function offsetOfPath(doc: Document, path: readonly PropertyKey[], opts: { key?: boolean } = {}): number {
  let node: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    if (isMap(node)) {
      // toJS() keeps the last of duplicate keys, so that is the one the schema saw.
      let pair;
      for (const p of node.items) if (keyText(p.key) === String(seg)) pair = p;
      if (pair === undefined) return start(node);
      const isLast = i === path.length - 1;
      if ((opts.key === true && isLast) || pair.value === null) return start(pair.key ?? node);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined || item === null) return start(node);
      node = item;
    } else {
      return start(node);
    }
  }
  return start(node);
}

/** The path of the deepest key or value whose source contains `offset` ([] if none). */
export function pathAtOffset(doc: Document, offset: number): PathSegment[] {
  const path: PathSegment[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    let next: unknown;
    if (isMap(node)) {
      // A pair spans from its key to the end of its value, tags and anchors included.
      const pair = node.items.find((p) => within(offset, start(p.key), end(p.value) ?? end(p.key)));
      // A key that is not a scalar (a block sequence or map where a key was expected, as a
      // tab-indented line produces) has no JSON pointer: the path ends at its map.
      if (pair === undefined || (pair.key !== null && !isScalar(pair.key))) return path;
      path.push(keyText(pair.key));
      if (!contains(pair.value, offset)) return path;
      next = pair.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((item) => contains(item, offset));
      if (i >= 0) {
        path.push(i);
        next = node.items[i];
      }
    }
    if (next === undefined) return path;
    node = next;
  }
}

/** A map key as the schema sees it after toJS(): scalars stringified. */
function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String((key as Node | null)?.toJSON?.() ?? key);
}

function start(node: unknown): number {
  return (node as Ranged | null)?.range?.[0] ?? 0;
}

function end(node: unknown): number | undefined {
  return (node as Ranged | null)?.range?.[2];
}

function within(offset: number, from: number, to: number | undefined): boolean {
  return to !== undefined && from <= offset && offset < to;
}

function contains(node: unknown, offset: number): boolean {
  const range = (node as Ranged | null)?.range;
  return range != null && within(offset, range[0], range[2]);
}
