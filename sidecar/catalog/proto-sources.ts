// Finds and reads what `catalog.protos` names (DESIGN §8): folders are import roots whose
// `.proto` files are all read (recursively); a `.proto` file is read with its folder as an
// extra root; `.binpb` / `.pb` / `.protoset` files are descriptor sets. CONTROL path. Bounded:
// folder depth, file count and bytes, so a mistaken `protos: [/]` fails fast with a message.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { isBuiltinFile } from './builtin-protos.js';

export const MAX_PROTO_FILES = 5000;
export const MAX_SOURCE_BYTES = 64 * 1024 * 1024;
const MAX_DEPTH = 32;
const DESCRIPTOR_SET = /\.(binpb|pb|protoset)$/;

/** A .proto file: `name` is its import name (path below its root, `/`-separated). */
export interface ProtoFile {
  readonly name: string;
  readonly path: string;
  readonly text: string;
}

export interface DescriptorSetFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

export interface ProtoSources {
  /** Folders imports are resolved in, in order. */
  readonly roots: readonly string[];
  readonly protoFiles: ProtoFile[];
  readonly descriptorSets: DescriptorSetFile[];
  /** Every folder a source was found in (what a watcher watches). */
  readonly folders: Set<string>;
  readonly problems: string[];
  /**
   * Reads an import the folder walk did not find (a file beside a listed file) from the roots,
   * within the same bounds; undefined when no root has it.
   */
  readonly readImport: (name: string) => ProtoFile | undefined;
}

/** Lists and reads the sources named by `paths` (absolute, or relative to the working directory). */
export function readProtoSources(paths: readonly string[]): ProtoSources {
  const roots: string[] = [];
  const out: ProtoSources = { roots, protoFiles: [], descriptorSets: [], folders: new Set(), problems: [], readImport };
  const budget = { files: 0, bytes: 0 };
  const listed: string[] = [];
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      out.problems.push(`${path}: cannot read: ${(err as Error).message}`);
      continue;
    }
    if (isDir) {
      roots.push(resolve(path));
      out.folders.add(resolve(path));
    } else listed.push(resolve(path));
  }
  // A file's own folder is a root after the listed folders (protoc's `-I` of last resort).
  for (const file of listed) if (!DESCRIPTOR_SET.test(file) && !roots.includes(dirname(file))) roots.push(dirname(file));

  const byName = new Map<string, string>();
  const addProto = (root: string, path: string): ProtoFile | undefined => {
    const name = relative(root, path).split(sep).join('/');
    if (isBuiltinFile(name)) return undefined; // built in; a vendored copy is ignored
    const first = byName.get(name);
    if (first !== undefined) {
      if (first !== path) out.problems.push(`${path}: the import name "${name}" is also ${first}; a name must be unique across the catalog.protos roots`);
      return undefined;
    }
    const text = readBounded(path, out.problems, budget);
    if (text === undefined) return undefined;
    byName.set(name, path);
    const file = { name, path, text: text.toString('utf8') };
    out.protoFiles.push(file);
    out.folders.add(dirname(path));
    return file;
  };

  for (const root of roots) {
    if (!out.folders.has(root)) continue; // a listed file's folder: only imports are read from it
    for (const path of walkProtoFiles(root, out.problems, out.folders)) addProto(root, path);
  }
  for (const file of listed) {
    if (DESCRIPTOR_SET.test(file)) {
      const bytes = readBounded(file, out.problems, budget);
      if (bytes !== undefined) out.descriptorSets.push({ path: file, bytes: new Uint8Array(bytes) });
      out.folders.add(dirname(file));
      continue;
    }
    if (!file.endsWith('.proto')) {
      out.problems.push(`${file}: expected a .proto file, a descriptor set (.binpb, .pb, .protoset) or a folder`);
      continue;
    }
    const root = roots.find((r) => file.startsWith(r + sep)) ?? dirname(file);
    addProto(root, file);
  }
  return out;

  function readImport(name: string): ProtoFile | undefined {
    const found = findImport(roots, name);
    return found === undefined ? undefined : addProto(found.root, found.path);
  }

  function readBounded(path: string, problems: string[], b: { files: number; bytes: number }): Buffer | undefined {
    if (++b.files > MAX_PROTO_FILES) {
      if (b.files === MAX_PROTO_FILES + 1) problems.push(`${path}: more than ${MAX_PROTO_FILES} files under catalog.protos`);
      return undefined;
    }
    try {
      const size = statSync(path).size;
      if (b.bytes + size > MAX_SOURCE_BYTES) {
        problems.push(`${path}: catalog.protos sources exceed ${MAX_SOURCE_BYTES / 1024 / 1024} MiB`);
        return undefined;
      }
      b.bytes += size;
      return readFileSync(path);
    } catch (err) {
      problems.push(`${path}: cannot read: ${(err as Error).message}`);
      return undefined;
    }
  }
}

/** Finds `name` (an import) in the roots: the first root that has it, else undefined. */
function findImport(roots: readonly string[], name: string): { root: string; path: string } | undefined {
  if (name.startsWith('/') || name.split('/').includes('..')) return undefined; // stays within the roots
  for (const root of roots) {
    const path = join(root, ...name.split('/'));
    try {
      if (statSync(path).isFile()) return { root, path };
    } catch {
      // not in this root
    }
  }
  return undefined;
}

/**
 * Every `.proto` file below `root`, sorted, skipping names that start with "." (and their
 * contents); every folder walked is added to `folders`.
 */
function walkProtoFiles(root: string, problems: string[], folders: Set<string>): string[] {
  const files: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > MAX_DEPTH) {
      problems.push(`${dir}: folders nested deeper than ${MAX_DEPTH} under ${root}`);
      return;
    }
    let names: string[];
    folders.add(dir);
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      problems.push(`${dir}: cannot read: ${(err as Error).message}`);
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const path = join(dir, name);
      let st;
      try {
        st = statSync(path);
      } catch {
        continue; // a dangling link
      }
      if (st.isDirectory()) walk(path, depth + 1);
      else if (st.isFile() && name.endsWith('.proto')) {
        files.push(path);
        if (files.length > MAX_PROTO_FILES) return;
      }
    }
  };
  walk(root, 0);
  return files;
}
