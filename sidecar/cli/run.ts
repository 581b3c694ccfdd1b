// `meshward run --config FILE` (DESIGN §2): exit 0 after a clean drain on SIGTERM/SIGINT,
// 2 for an invalid config at startup, 1 for any other fatal error.

import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { log } from '../core/log.js';
import { formatAddress, startSidecar } from '../main.js';
import { PolicyLoadError } from '../policy/policy-store.js';
import { untilShutdown } from './until-shutdown.js';

export async function runRunCommand(argv: string[]): Promise<number> {
  let configPath: string | undefined;
  try {
    configPath = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: true }).values.config;
  } catch (err) {
    process.stderr.write(`meshward run: ${(err as Error).message}\nusage: meshward run --config FILE\n`);
    return 2;
  }
  if (configPath === undefined) {
    process.stderr.write('meshward run: --config FILE is required\n');
    return 2;
  }

  let config;
  try {
    config = loadConfig(configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`meshward: invalid config\n${err.message}\n`);
      return 2;
    }
    throw err;
  }

  let sidecar;
  try {
    sidecar = await startSidecar(config);
  } catch (err) {
    if (err instanceof PolicyLoadError) {
      process.stderr.write(`meshward: invalid policies\n${err.message}\n`);
      return 2;
    }
    log.error('startup failed', { error: (err as Error).message });
    return 1;
  }
  log.info('meshward ready', {
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
