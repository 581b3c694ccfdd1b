// `meshward run --config FILE` (DESIGN §2): exit 0 after a clean drain on SIGTERM/SIGINT,
// 2 for an invalid config at startup, 1 for any other fatal error. With `workers` > 1 this
// process becomes the primary (app/primary.ts) and each worker runs the sidecar (main.ts).

import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { configFromPrimary, workerSlot } from '../app/worker-channel.js';

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
  if (worker === undefined && config.workers > 1) return (await import('../app/primary.js')).runPrimary(config, config.workers);
  // Loaded here, not above: a primary never runs the sidecar itself.
  return (await import('../main.js')).runSidecar(config, worker);
}
