// Applies JSON Patch `add` operations to a parsed YAML document in place, so the nodes
// around them keep their comments, key order and styles (`meshward inject`). Paths are
// relative to `base`, the node path of the pod (template) inside the document.
// CONTROL path; pure.
import { isAlias, isMap, isScalar, isSeq, Scalar, type Document, type Node } from 'yaml';
import { unescapePointer, type AddOperation } from './inject-pod.js';

export class YamlPatchError extends Error {}

export function applyAddOperations(doc: Document, base: readonly (string | number)[], ops: readonly AddOperation[]): void {
  for (const op of ops) {
    const segments = op.path.split('/').slice(1).map(unescapePointer);
    const last = segments.pop();
    if (last === undefined) throw new YamlPatchError(`cannot add at the document root (${op.path})`);
    const parent = nodeAt(doc, [...base, ...segments], op.path);
    const value = createNode(doc, op.value);
    // A flow collection (`{a: b}`, `[]`) that grows turns block style: the added nodes are
    // large, and a multi-line string cannot be a literal block inside a flow collection.
    if (isSeq(parent) || isMap(parent)) parent.flow = false;
    if (isSeq(parent)) {
      if (last === '-') parent.items.push(value);
      else if (/^\d+$/.test(last) && Number(last) <= parent.items.length) parent.items.splice(Number(last), 0, value);
      else throw new YamlPatchError(`bad list index in ${op.path}`);
    } else if (isMap(parent)) {
      if (parent.has(last)) throw new YamlPatchError(`${op.path} already exists`);
      const pair = doc.createPair(last, value);
      // initContainers reads best before containers, as the kubelet runs them.
      const before = last === 'initContainers' ? parent.items.findIndex((p) => isScalar(p.key) && p.key.value === 'containers') : -1;
      if (before >= 0) parent.items.splice(before, 0, pair);
      else parent.items.push(pair);
    } else {
      throw new YamlPatchError(`the parent of ${op.path} is not a map or a list`);
    }
  }
}

/** The collection at `path`; aliases are refused (editing one would edit its anchor too). */
function nodeAt(doc: Document, path: readonly (string | number)[], opPath: string): unknown {
  let node: unknown = doc.contents;
  for (const seg of path) {
    if (isAlias(node)) throw new YamlPatchError(`cannot edit through the YAML alias *${node.source} (at ${opPath})`);
    if (isMap(node)) node = node.get(seg, true);
    else if (isSeq(node) && /^\d+$/.test(String(seg))) node = node.items[Number(seg)];
    else throw new YamlPatchError(`no map or list on the way to ${opPath}`);
  }
  if (isAlias(node)) throw new YamlPatchError(`cannot edit through the YAML alias *${node.source} (at ${opPath})`);
  return node;
}

/** Block style for new collections; multi-line strings (the generated config) as literal blocks. */
function createNode(doc: Document, value: unknown): Node {
  const node = doc.createNode(value) as Node;
  markLiteral(node);
  return node;
}

function markLiteral(node: unknown): void {
  if (isScalar(node)) {
    if (typeof node.value === 'string' && node.value.includes('\n')) node.type = Scalar.BLOCK_LITERAL;
  } else if (isMap(node)) {
    for (const pair of node.items) markLiteral(pair.value);
  } else if (isSeq(node)) {
    for (const item of node.items) markLiteral(item);
  }
}
