// The declarations loader (DESIGN §8, §9): `catalog.protos` (.proto files and folders,
// descriptor sets) and the GraphQL SDL → one immutable Declarations snapshot; a store that
// reloads it on change and keeps the last good one. CONTROL path.
//
// API (other modules import this file):
//   loadDeclarations(options, sdl?) → { ok: true, declarations } | { ok: false, problems }
//       Synchronous. `options.protos`: absolute paths (files or folders); `options.graphqlSchemaFile`:
//       the SDL file (needs `sdl` = graphqlFieldsFromSdl from ./graphql-declarations.js, which
//       loads graphql-js; openDeclarations passes it for you). Problems are `PATH:LINE: message`
//       where a line is known, `PATH: message` otherwise.
//   openDeclarations(options) → Promise<DeclarationsStore>: loads now, throws
//       DeclarationsLoadError (exit 2 at startup) when invalid.
//   DeclarationsStore: `current` (read once per call), `status()`, `onReload(fn)`, `reload()`,
//       `watch()` (folders of every source; debounced), `close()`.
//   Declarations (declarations-model.ts): `registry` (a @bufbuild/protobuf FileRegistry with every
//       user file and the built-in files they import, custom options included), `methods`
//       (`package.Service/Method` → { deprecated, input, output, clientStreaming,
//       serverStreaming, file }), `graphqlFields` (`Type.field` → { deprecated,
//       deprecationReason }), `grpcDeclared`, `graphqlDeclared`, `version`, `sources`.
// `google/protobuf/*` and `buf/validate/validate.proto` are built in (builtin-protos.ts).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { watchFolders } from '../core/folder-watch.js';
import { log } from '../core/log.js';
import { isBuiltinFile } from './builtin-protos.js';
import { DeclarationsLoadError } from './declarations-load-error.js';
import type { Declarations, DeclarationsSource, GraphqlFieldDeclaration, MethodDeclaration } from './declarations-model.js';
import type { SdlFields } from './graphql-declarations.js';
import { parseProtoFiles } from './proto-descriptors.js';
import { buildRegistry, collectMethods, sameFile } from './proto-registry.js';
import { readProtoSources } from './proto-sources.js';

export * from './declarations-model.js';

export interface DeclarationsOptions {
  /** `catalog.protos`: files and folders (absolute paths). Empty: no gRPC declarations. */
  readonly protos: readonly string[];
  /** `inbound.graphql.schemaFile`, if any. */
  readonly graphqlSchemaFile?: string | undefined;
}

export type SdlReader = (text: string, file: string) => SdlFields;

export type DeclarationsResult =
  | { readonly ok: true; readonly declarations: Declarations; readonly folders: ReadonlySet<string> }
  | { readonly ok: false; readonly problems: readonly string[]; readonly folders: ReadonlySet<string> };

export { DeclarationsLoadError } from './declarations-load-error.js';

/** Loads every declaration source; see the header for the contract. */
export function loadDeclarations(options: DeclarationsOptions, sdl?: SdlReader): DeclarationsResult {
  const hash = createHash('sha256');
  const problems: string[] = [];
  const folders = new Set<string>();
  let registry: FileRegistry | undefined;
  const methods = new Map<string, MethodDeclaration>();
  const sources: string[] = [];

  if (options.protos.length > 0) {
    const read = readProtoSources(options.protos);
    for (const f of read.folders) folders.add(f);
    problems.push(...read.problems);
    const parsed = parseProtoFiles(read);
    problems.push(...parsed.problems);
    const files = new Map<string, { proto: FileDescriptorProto; from: string }>();
    for (const file of read.protoFiles) {
      hash.update(`proto\0${file.name}\0${file.text}\0`);
      sources.push(file.path);
    }
    for (const proto of parsed.files) files.set(proto.name, { proto, from: read.protoFiles.find((f) => f.name === proto.name)?.path ?? proto.name });
    for (const set of read.descriptorSets) {
      hash.update(`set\0${set.path}\0`).update(set.bytes);
      sources.push(set.path);
      let decoded;
      try {
        decoded = fromBinary(FileDescriptorSetSchema, set.bytes);
      } catch (err) {
        problems.push(`${set.path}: not a descriptor set (google.protobuf.FileDescriptorSet, as \`buf build -o\` writes): ${(err as Error).message}`);
        continue;
      }
      for (const proto of decoded.file) {
        if (isBuiltinFile(proto.name)) continue; // the built-in copy serves every importer
        const first = files.get(proto.name);
        if (first === undefined) files.set(proto.name, { proto, from: set.path });
        else if (!sameFile(first.proto, proto)) problems.push(`${set.path}: file "${proto.name}" differs from the one in ${first.from}; a file name must be unique`);
      }
    }
    if (problems.length === 0) {
      const built = buildRegistry(files, parsed.pending);
      if (built.ok) registry = built.registry;
      else problems.push(...built.problems);
    }
    if (registry !== undefined) collectMethods(registry, methods);
  }

  let graphqlFields = new Map<string, GraphqlFieldDeclaration>();
  if (options.graphqlSchemaFile !== undefined) {
    const file = options.graphqlSchemaFile;
    folders.add(dirname(file));
    sources.push(file);
    try {
      const text = readFileSync(file, 'utf8');
      hash.update(`sdl\0${text}`);
      if (sdl === undefined) throw new Error('internal: no SDL reader (use openDeclarations)');
      const read = sdl(text, file);
      if (read.ok) graphqlFields = read.fields;
      else problems.push(...read.problems);
    } catch (err) {
      problems.push(`${file}: cannot read the GraphQL schema: ${(err as Error).message}`);
    }
  }

  if (problems.length > 0) return { ok: false, problems: Object.freeze(problems), folders };
  const declarations: Declarations = Object.freeze({
    version: hash.digest('hex').slice(0, 16),
    grpcDeclared: options.protos.length > 0,
    graphqlDeclared: options.graphqlSchemaFile !== undefined,
    registry: registry ?? createFileRegistry(),
    methods,
    graphqlFields,
    sources: Object.freeze(sources),
  });
  return { ok: true, declarations, folders };
}

export interface DeclarationsStatus {
  readonly version: string;
  readonly sources: readonly string[];
  readonly loadedAt: string;
  readonly lastError: { readonly at: string; readonly problems: readonly string[] } | undefined;
  readonly reloads: { readonly ok: number; readonly error: number };
}

const DEBOUNCE_MS = 150;

/** Loads now (throws DeclarationsLoadError when invalid); graphql-js is loaded only for an SDL. */
export async function openDeclarations(options: DeclarationsOptions): Promise<DeclarationsStore> {
  const sdl = options.graphqlSchemaFile === undefined ? undefined : (await import('./graphql-declarations.js')).graphqlFieldsFromSdl;
  return new DeclarationsStore(options, sdl);
}

/** The current declarations; reloads on change like the policy store, keeping the last good snapshot. */
export class DeclarationsStore implements DeclarationsSource {
  private snapshot: Declarations;
  private folders: ReadonlySet<string>;
  private loadedAt = new Date();
  private lastError: DeclarationsStatus['lastError'];
  private readonly reloads = { ok: 0, error: 0 };
  private stopWatching: (() => void) | undefined;
  private readonly listeners: Array<(result: 'ok' | 'error' | 'unchanged') => void> = [];

  constructor(
    private readonly options: DeclarationsOptions,
    private readonly sdl: SdlReader | undefined,
  ) {
    const loaded = loadDeclarations(options, sdl);
    if (!loaded.ok) throw new DeclarationsLoadError(loaded.problems);
    this.snapshot = loaded.declarations;
    this.folders = loaded.folders;
  }

  /** The snapshot for one call. Read it once per call. */
  get current(): Declarations {
    return this.snapshot;
  }

  status(): DeclarationsStatus {
    return {
      version: this.snapshot.version,
      sources: this.snapshot.sources,
      loadedAt: this.loadedAt.toISOString(),
      lastError: this.lastError,
      reloads: { ...this.reloads },
    };
  }

  /** Called after every reload attempt. */
  onReload(listener: (result: 'ok' | 'error' | 'unchanged') => void): void {
    this.listeners.push(listener);
  }

  /** Re-reads every source; publishes a new snapshot only when it is valid and different. */
  reload(): 'ok' | 'error' | 'unchanged' {
    const loaded = loadDeclarations(this.options, this.sdl);
    let result: 'ok' | 'error' | 'unchanged';
    if (!loaded.ok) {
      const same = this.lastError !== undefined && this.lastError.problems.join('\n') === loaded.problems.join('\n');
      this.lastError = { at: new Date().toISOString(), problems: loaded.problems };
      this.reloads.error++;
      if (!same) log.error('catalog declarations reload rejected; keeping the previous ones', { version: this.snapshot.version, problems: loaded.problems });
      result = 'error';
    } else if (loaded.declarations.version === this.snapshot.version) {
      this.lastError = undefined;
      result = 'unchanged';
    } else {
      const previous = this.snapshot.version;
      this.snapshot = loaded.declarations;
      this.loadedAt = new Date();
      this.lastError = undefined;
      this.reloads.ok++;
      log.info('catalog declarations reloaded', { previous, version: this.snapshot.version, methods: this.snapshot.methods.size, graphqlFields: this.snapshot.graphqlFields.size });
      result = 'ok';
    }
    // New folders (a new package) are watched from now on.
    if (this.stopWatching !== undefined && !sameSet(loaded.folders, this.folders)) {
      this.folders = loaded.folders;
      this.watch();
    }
    for (const l of this.listeners) l(result);
    return result;
  }

  /** Watches the folders of every source (not recursively: a new sub-folder is seen at the next change). */
  watch(): void {
    this.stopWatching?.();
    this.stopWatching = watchFolders(this.folders, () => this.reload(), 'catalog', DEBOUNCE_MS);
  }

  close(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
