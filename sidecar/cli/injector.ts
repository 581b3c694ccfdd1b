// `meshward injector --config FILE` (DESIGN §2): runs the mutating admission webhook that
// injects the sidecar (inject/webhook-server.ts). Exit codes as `run`: 0 after a clean
// shutdown on SIGTERM/SIGINT, 2 for an invalid config, 1 for any other fatal error
// (e.g. unreadable certificate files, the port in use). CONTROL path.
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import { log } from '../core/log.js';
import { loadInjectorConfig, type InjectorConfig } from '../inject/injector-config.js';
import { startWebhookServer, type WebhookServer } from '../inject/webhook-server.js';
import { untilShutdown } from '../app/until-shutdown.js';

export async function runInjectorCommand(argv: string[]): Promise<number> {
  let configPath: string | undefined;
  try {
    configPath = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: true }).values.config;
  } catch (err) {
    process.stderr.write(`meshward injector: ${(err as Error).message}\nusage: meshward injector --config FILE\n`);
    return 2;
  }
  if (configPath === undefined) {
    process.stderr.write('meshward injector: --config FILE is required\n');
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
