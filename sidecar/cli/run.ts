// `meshward run --config FILE` (DESIGN §2): exit 0 after a clean drain on SIGTERM/SIGINT,
// 2 for an invalid config at startup, 1 for any other fatal error. With `workers` > 1 this
// process becomes the primary (app/primary.ts) and each worker runs the sidecar (main.ts).

import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { configFromPrimary, workerSlot } from '../app/worker-channel.js';

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
  if (worker === undefined && config.workers > 1) return (await import('../app/primary.js')).runPrimary(config, config.workers);
  // Loaded here, not above: a primary never runs the sidecar itself.
  return (await import('../main.js')).runSidecar(config, worker);
}
