// Keeps a long-running command (run, injector) alive until SIGTERM/SIGINT, then stops it:
// exit code 0 after a clean stop, 1 if stopping failed (DESIGN §2).

import { log } from '../core/log.js';

export function untilShutdown(stop: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    const shutdown = (signal: NodeJS.Signals): void => {
      log.info('shutdown requested', { signal });
      stop().then(
        () => {
          log.info('stopped', { exitCode: 0 });
          resolve(0);
        },
        (err: unknown) => {
          log.error('shutdown failed', { error: String(err), exitCode: 1 });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}
