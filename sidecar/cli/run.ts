// `meshward run --config FILE` (DESIGN §2): exit 0 after a clean drain on SIGTERM/SIGINT,
// 2 for an invalid config at startup, 1 for any other fatal error. With `workers` > 1 this
// process becomes the primary (workers.ts) and each worker runs the sidecar (worker-channel.ts).

import { parseArgs } from 'node:util';
import { DeclarationsLoadError } from '../catalog/declarations-load-error.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { log, setLogFields } from '../core/log.js';
import { SchemaLoadError } from '../graphql/schema-load-error.js';
import { PolicyLoadError } from '../policy/policy-store.js';
import { untilShutdown } from './until-shutdown.js';
import { announceReady, configFromPrimary, workerSidecarOptions, workerSlot } from './worker-channel.js';

const USAGE = `usage: meshward run --config FILE

runs the sidecar with the configuration FILE (YAML, kind: Sidecar; see docs/configuration.md)
exit codes: 0 clean shutdown after SIGTERM/SIGINT (in-flight calls drained), 2 invalid config,
policies or GraphQL schema at startup, 1 any other fatal error
signals: SIGTERM/SIGINT drain and stop, SIGHUP reopens the audit log file
`;

export async function runRunCommand(argv: string[]): Promise<number> {
  let configPath: string | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help === true) {
      process.stdout.write(USAGE);
      return 0;
    }
    configPath = values.config;
  } catch (err) {
    process.stderr.write(`meshward run: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (configPath === undefined) {
    process.stderr.write(`meshward run: --config FILE is required\n${USAGE}`);
    return 2;
  }

  const worker = workerSlot();
  let config;
  try {
    config = worker === undefined ? loadConfig(configPath) : await configFromPrimary();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`meshward: invalid config\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (worker === undefined && config.workers > 1) return (await import('./workers.js')).runWorkers(config, config.workers);
  if (worker !== undefined) setLogFields({ worker: worker.slot });
  // Loaded here, not above: a primary never runs the sidecar itself.
  const { formatAddress, startSidecar } = await import('../main.js');

  let sidecar;
  try {
    sidecar = await startSidecar(config, worker === undefined ? {} : workerSidecarOptions(worker.count, worker.slot));
  } catch (err) {
    if (err instanceof PolicyLoadError) {
      process.stderr.write(`meshward: invalid policies\n${err.message}\n`);
      return 2;
    }
    if (err instanceof SchemaLoadError) {
      process.stderr.write(`meshward: invalid GraphQL schema\n${err.message}\n`);
      return 2;
    }
    if (err instanceof DeclarationsLoadError) {
      process.stderr.write(`meshward: invalid catalog declarations (catalog.protos)\n${err.message}\n`);
      return 2;
    }
    log.error('startup failed', { error: (err as Error).message });
    return 1;
  }
  if (worker !== undefined) announceReady(formatAddress(sidecar.inbound), sidecar.outbound && formatAddress(sidecar.outbound));
  else log.info('meshward ready', {
    inbound: formatAddress(sidecar.inbound),
    admin: formatAddress(sidecar.admin),
    ...(sidecar.outbound === undefined ? {} : { outbound: formatAddress(sidecar.outbound) }),
    pid: process.pid,
  });

  process.on('SIGHUP', () => {
    log.info('reopening log files', { signal: 'SIGHUP' });
    sidecar.reopenLogs();
  });
  return untilShutdown(() => sidecar.stop());
}
