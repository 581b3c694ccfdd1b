// The GraphQL schema of the app (CONTROL path): read from inbound.graphql.schemaFile at
// startup (an invalid file stops startup), re-read when it changes. Each valid version gets a
// fresh analyzer (its cache belongs to one schema); an invalid change keeps the previous one.

import { dirname } from 'node:path';
import { log } from '../core/log.js';
import { watchFolders } from '../core/folder-watch.js';
import { GraphqlAnalyzer } from './analysis/analyze.js';
import { readSchemaFile, type SchemaFileResult } from './schema-file.js';
import { SchemaLoadError } from './schema-load-error.js';

export { SchemaLoadError } from './schema-load-error.js';

export interface SchemaStatus {
  readonly file: string | undefined;
  readonly loadedAt: string;
  readonly lastError: { readonly at: string; readonly problems: readonly string[] } | undefined;
}

export class SchemaStore {
  private analyzerNow: GraphqlAnalyzer;
  private text: string | undefined;
  private loadedAt = new Date();
  private lastError: SchemaStatus['lastError'];
  private stopWatching: (() => void) | undefined;
  private readonly listeners: Array<(result: 'ok' | 'error') => void> = [];

  /** Loads the schema now (none: schema-less analysis); throws SchemaLoadError when it is invalid. */
  constructor(private readonly file: string | undefined) {
    if (file === undefined) {
      this.analyzerNow = new GraphqlAnalyzer({ schema: undefined });
      return;
    }
    const loaded = this.load(file);
    if (typeof loaded === 'string') throw new SchemaLoadError([loaded]);
    if (!loaded.ok) throw new SchemaLoadError(loaded.problems);
    this.analyzerNow = loaded.analyzer;
  }

  /** The analyzer of the current schema (published to the data path with the policies: app/snapshots.ts). */
  get analyzer(): GraphqlAnalyzer {
    return this.analyzerNow;
  }

  /** As `analyzer`: the store as a Snapshot<GraphqlAnalyzer>. */
  get current(): GraphqlAnalyzer {
    return this.analyzerNow;
  }

  status(): SchemaStatus {
    return { file: this.file, loadedAt: this.loadedAt.toISOString(), lastError: this.lastError };
  }

  onReload(listener: (result: 'ok' | 'error') => void): void {
    this.listeners.push(listener);
  }

  watch(): void {
    if (this.file === undefined || this.stopWatching !== undefined) return;
    this.stopWatching = watchFolders([dirname(this.file)], () => this.reload(), 'GraphQL schema');
  }

  reload(): void {
    if (this.file === undefined) return;
    const loaded = this.load(this.file);
    if (loaded === 'unchanged') return;
    if (typeof loaded === 'string' || !loaded.ok) {
      const problems = typeof loaded === 'string' ? [loaded] : loaded.problems;
      this.lastError = { at: new Date().toISOString(), problems };
      log.error('GraphQL schema reload rejected; keeping the previous schema', { problems });
      for (const l of this.listeners) l('error');
      return;
    }
    this.analyzerNow = loaded.analyzer;
    this.loadedAt = new Date();
    this.lastError = undefined;
    log.info('GraphQL schema reloaded', { file: this.file });
    for (const l of this.listeners) l('ok');
  }

  close(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  private load(file: string): SchemaFileResult | 'unchanged' {
    const loaded = readSchemaFile(file, this.text);
    if (loaded === 'unchanged' || typeof loaded === 'string' || !loaded.ok) return loaded;
    this.text = loaded.text;
    return loaded;
  }
}
