// The policy snapshot store (CONTROL path): loads the configured policy files, watches
// them, and publishes a new immutable snapshot when a valid change arrives. An invalid
// change is rejected whole: the previous snapshot stays, the error is logged once and kept
// for the admin /policies endpoint. The request path only reads `current`.

import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { watchFolders } from '../core/folder-watch.js';
import { log } from '../core/log.js';
import { listPolicyFiles, loadPolicySnapshot, type LoadOptions } from './load.js';
import type { PolicySnapshot } from './model.js';

export class PolicyLoadError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'PolicyLoadError';
  }
}

export interface PolicyStatus {
  readonly version: string;
  readonly sources: readonly string[];
  readonly loadedAt: string;
  readonly lastError: { readonly at: string; readonly problems: readonly string[] } | undefined;
  readonly reloads: { readonly ok: number; readonly error: number };
}

const DEBOUNCE_MS = 150;

export class PolicyStore {
  private snapshot: PolicySnapshot;
  private loadedAt = new Date();
  private lastError: PolicyStatus['lastError'];
  private readonly reloads = { ok: 0, error: 0 };
  private stopWatching: (() => void) | undefined;
  private listeners: Array<(result: 'ok' | 'error' | 'unchanged') => void> = [];

  private readonly options: LoadOptions;

  /**
   * Loads the policies now; throws PolicyLoadError when they are invalid (exit 2 at startup).
   * `moreProblems`: checks against more than the files (message validation's descriptors).
   */
  constructor(
    private readonly paths: readonly string[],
    providers: readonly string[],
    moreProblems?: LoadOptions['moreProblems'],
  ) {
    this.options = { providers, moreProblems };
    const loaded = loadPolicySnapshot(paths, this.options);
    if (!loaded.ok) throw new PolicyLoadError(loaded.problems);
    this.snapshot = loaded.snapshot;
  }

  /** The snapshot to use for one call. Read it once per call. */
  get current(): PolicySnapshot {
    return this.snapshot;
  }

  status(): PolicyStatus {
    return {
      version: this.snapshot.version,
      sources: this.snapshot.sources,
      loadedAt: this.loadedAt.toISOString(),
      lastError: this.lastError,
      reloads: { ...this.reloads },
    };
  }

  /** Called after every reload attempt (metrics, tests). */
  onReload(listener: (result: 'ok' | 'error' | 'unchanged') => void): void {
    this.listeners.push(listener);
  }

  /** Re-reads the files; publishes the new snapshot only when it is valid and different. */
  reload(): 'ok' | 'error' | 'unchanged' {
    const loaded = loadPolicySnapshot(this.paths, this.options);
    let result: 'ok' | 'error' | 'unchanged';
    if (!loaded.ok) {
      const problems = loaded.problems;
      const same = this.lastError !== undefined && this.lastError.problems.join('\n') === problems.join('\n');
      this.lastError = { at: new Date().toISOString(), problems };
      this.reloads.error++;
      if (!same) log.error('policy reload rejected; keeping the previous snapshot', { version: this.snapshot.version, problems });
      result = 'error';
    } else if (loaded.snapshot.version === this.snapshot.version) {
      this.lastError = undefined;
      result = 'unchanged';
    } else {
      const previous = this.snapshot.version;
      this.snapshot = loaded.snapshot;
      this.loadedAt = new Date();
      this.lastError = undefined;
      this.reloads.ok++;
      log.info('policies reloaded', { previous, version: loaded.snapshot.version, sources: loaded.snapshot.sources.length });
      result = 'ok';
    }
    for (const l of this.listeners) l(result);
    return result;
  }

  /**
   * Watches the folders that hold the policy files (a folder watch also sees editors'
   * rename-over-write and Kubernetes ConfigMap symlink swaps) and reloads, debounced.
   */
  watch(): void {
    const dirs = new Set<string>();
    for (const path of this.paths) {
      try {
        dirs.add(statSync(path).isDirectory() ? path : dirname(path));
      } catch {
        dirs.add(dirname(path));
      }
    }
    for (const file of listPolicyFiles(this.paths).files) dirs.add(dirname(file));
    this.stopWatching?.();
    this.stopWatching = watchFolders(dirs, () => this.reload(), 'policy', DEBOUNCE_MS);
  }

  close(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }
}
