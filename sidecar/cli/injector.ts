// `meshward injector --config FILE` (DESIGN §2): runs the mutating admission webhook that
// injects the sidecar (inject/webhook-server.ts). Exit codes as `run`: 0 after a clean
// shutdown on SIGTERM/SIGINT, 2 for an invalid config, 1 for any other fatal error
// (e.g. unreadable certificate files, the port in use). CONTROL path.
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import { log } from '../core/log.js';
import { loadInjectorConfig, type InjectorConfig } from '../inject/injector-config.js';
import { startWebhookServer, type WebhookServer } from '../inject/webhook-server.js';
import { untilShutdown } from './until-shutdown.js';

const USAGE = `usage: meshward injector --config FILE

runs the mutating admission webhook that injects the meshward sidecar into pods
(FILE: kind: Injector; see docs/kubernetes.md)
exit codes: 0 clean shutdown after SIGTERM/SIGINT, 2 invalid config, 1 any other fatal error
`;

export async function runInjectorCommand(argv: string[]): Promise<number> {
  let configPath: string | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help === true) {
      process.stdout.write(USAGE);
      return 0;
    }
    configPath = values.config;
  } catch (err) {
    process.stderr.write(`meshward injector: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (configPath === undefined) {
    process.stderr.write(`meshward injector: --config FILE is required\n${USAGE}`);
    return 2;
  }

  let config: InjectorConfig;
  try {
    config = loadInjectorConfig(configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`meshward: invalid injector config\n${err.message}\n`);
      return 2;
    }
    throw err;
  }

  let server: WebhookServer;
  try {
    server = await startWebhookServer(config);
  } catch (err) {
    log.error('injector startup failed', { error: (err as Error).message });
    return 1;
  }
  log.info('meshward injector ready', {
    listen: `${server.address.address}:${server.address.port}`,
    failurePolicy: config.failurePolicy,
    sidecarMode: config.injection.sidecarMode,
    image: config.injection.image,
    pid: process.pid,
  });

  return untilShutdown(() => server.close());
}
