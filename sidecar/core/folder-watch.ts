// Watches the folders that hold some files and calls back, debounced, when anything in
// them changes (CONTROL path). A folder watch also sees editors' rename-over-write and
// Kubernetes ConfigMap symlink swaps, which a watch on the file itself misses.

import { watch, type FSWatcher } from 'node:fs';
import { log } from './log.js';

/** Starts watching; returns the function that stops. `what` names the files in logs. */
export function watchFolders(dirs: Iterable<string>, onChange: () => void, what: string, debounceMs = 150): () => void {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  };
  for (const dir of new Set(dirs)) {
    try {
      const w = watch(dir, { persistent: false }, schedule);
      w.on('error', (err) => log.warn(`${what} watch error`, { dir, error: err.message }));
      watchers.push(w);
    } catch (err) {
      log.warn(`cannot watch ${what} folder; changes need a restart`, { dir, error: (err as Error).message });
    }
  }
  return () => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
