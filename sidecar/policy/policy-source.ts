// Policy files as read and parsed (CONTROL path): the types the loader (load.ts) produces and
// the compiler (compile.ts) consumes, in their own module so neither imports the other's code.

import type { PolicyDocument } from './schema.js';

/** One policy file as read: the version of a snapshot is a hash of the texts. */
export interface PolicySource {
  /** The file name as given or as found in a folder (messages use it as is). */
  readonly file: string;
  readonly text: string;
}

/** One YAML document of a file, validated. */
export interface ParsedDocument<T> {
  readonly file: string;
  /** 0-based index of the document in its file (empty documents count too). */
  readonly index: number;
  readonly value: T;
  /** `FILE:LINE:COL` of the node at `path` (a path inside this document). */
  locate(path: readonly PropertyKey[]): string;
  /** A problem line for the node at `path`: `FILE:LINE:COL: /path: message`. */
  problem(path: readonly PropertyKey[], message: string, opts?: { key?: boolean }): string;
}

export type LoadedPolicy = ParsedDocument<PolicyDocument>;
