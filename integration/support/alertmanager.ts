// Runs a private Prometheus Alertmanager (Debian `prometheus-alertmanager`) for a test: its own
// storage folder and config, the API on a free loopback port, clustering off, ready when
// /-/ready answers 200; and reads alerts back from its API v2. Test support only.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports.js';

export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';

/** Alertmanager's gettableAlert, as far as the tests read it. */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  fingerprint: string;
  status: { state: string };
  receivers: Array<{ name: string }>;
}

export interface Alertmanager {
  readonly url: string;
  readonly port: number;
  readonly log: string[];
  alerts(): Promise<GettableAlert[]>;
  stop(): Promise<void>;
}

export interface AlertmanagerOptions {
  /** Where Alertmanager sends its own webhook notifications (group_wait 100ms), if anywhere. */
  readonly webhookUrl?: string;
  /** A port to listen on (e.g. one a test freed); default a free one. */
  readonly port?: number;
}

const START_TIMEOUT_MS = 15_000;

export async function startAlertmanager(dir: string, opts: AlertmanagerOptions = {}): Promise<Alertmanager> {
  await mkdir(join(dir, 'data'), { recursive: true });
  const receiver = opts.webhookUrl === undefined ? '  - name: none\n' : `  - name: hook\n    webhook_configs:\n      - url: ${JSON.stringify(opts.webhookUrl)}\n        send_resolved: true\n`;
  const config = `route:
  receiver: ${opts.webhookUrl === undefined ? 'none' : 'hook'}
  group_by: [alertname, principal, method]
  group_wait: 100ms
  group_interval: 500ms
  repeat_interval: 1h
receivers:
${receiver}`;
  const configFile = join(dir, 'alertmanager.yml');
  await writeFile(configFile, config);
  const port = opts.port ?? (await freePort());
  const log: string[] = [];
  const proc: ChildProcess = spawn(
    ALERTMANAGER_BIN,
    [`--config.file=${configFile}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const s of [proc.stdout!, proc.stderr!]) s.on('data', (c: Buffer) => log.push(...c.toString().split('\n').filter(Boolean)));
  const killOnExit = (): void => void proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`alertmanager exited with ${proc.exitCode}:\n${log.join('\n')}`);
    const ok = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(500) }).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`alertmanager not ready on ${port} within ${START_TIMEOUT_MS} ms:\n${log.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url,
    port,
    log,
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) throw new Error(`GET /api/v2/alerts: ${res.status}`);
      return (await res.json()) as GettableAlert[];
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
