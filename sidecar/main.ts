// The sidecar process (CONTROL path): runs the sidecar a validated config describes — alone, or
// as one worker of `workers` > 1 — until SIGTERM/SIGINT: 0 after a clean drain, 2 for invalid
// policies, GraphQL schema, catalog declarations or a file the config names, 1 for other startup failures. Assembly:
// app/sidecar.ts.

import { startSidecar } from './app/sidecar.js';
import { untilShutdown } from './app/until-shutdown.js';
import { announceReady, workerSidecarOptions, type WorkerSlot } from './app/worker-channel.js';
import { formatAddress } from './core/host-port.js';
import { log, setLogFields } from './core/log.js';
import { DeclarationsLoadError } from './catalog/declarations-load-error.js';
import { ConfigError } from './config/load.js';
import { SchemaLoadError } from './graphql/schema-load-error.js';
import { PolicyLoadError } from './policy/policy-load-error.js';

export async function runSidecar(config: Parameters<typeof startSidecar>[0], worker: WorkerSlot | undefined): Promise<number> {
  if (worker !== undefined) setLogFields({ worker: worker.slot });
  let sidecar;
  try {
    sidecar = await startSidecar(config, worker === undefined ? {} : workerSidecarOptions(worker.count, worker.slot));
  } catch (err) {
    const invalid =
      err instanceof PolicyLoadError
        ? 'policies'
        : err instanceof SchemaLoadError
          ? 'GraphQL schema'
          : err instanceof DeclarationsLoadError
            ? 'catalog declarations (catalog.protos)'
            : err instanceof ConfigError
              ? 'config' // a file the config names, checked when it is first read (alerts headers files)
              : undefined;
    if (invalid !== undefined) {
      process.stderr.write(`meshward: invalid ${invalid}\n${(err as Error).message}\n`);
      return 2;
    }
    log.error('startup failed', { error: (err as Error).message });
    return 1;
  }
  if (worker !== undefined) announceReady(formatAddress(sidecar.inbound), sidecar.outbound && formatAddress(sidecar.outbound));
  else {
    log.info('meshward ready', {
      inbound: formatAddress(sidecar.inbound),
      admin: formatAddress(sidecar.admin),
      ...(sidecar.outbound === undefined ? {} : { outbound: formatAddress(sidecar.outbound) }),
      pid: process.pid,
    });
  }
  process.on('SIGHUP', () => {
    log.info('reopening log files', { signal: 'SIGHUP' });
    sidecar.reopenLogs();
  });
  return untilShutdown(() => sidecar.stop());
}
