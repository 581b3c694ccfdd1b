// Runs a private redis-server (Debian package) for a test: a free port on 127.0.0.1, no
// persistence, ready when it answers PING. SIGSTOP / SIGCONT / kill / restart on the same
// port, to exercise the shared limit store's failure modes. Test support only.

import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './ports.js';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The current redis-server process id (changes on restart). */
  readonly pid: number;
  /** SIGSTOP: the process keeps its sockets open but answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL, and waits for the exit. */
  kill(): Promise<void>;
  /** Starts a new process on the same port (after kill). */
  restart(): Promise<void>;
  /** Kills it if running (call from `after`). */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 5_000;

/** One PING over a raw socket; resolves true on +PONG within `timeoutMs`. */
export function pingRedis(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.once('error', () => done(false));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let proc: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.resume();
    p.stderr!.resume();
    proc = p;
    const exitOnce = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    process.once('exit', () => p.kill('SIGKILL'));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`redis-server exited with ${p.exitCode} (is the port ${port} taken?)`);
      if (await pingRedis(port, 200)) break;
      if (Date.now() > deadline) {
        p.kill('SIGKILL');
        await exitOnce;
        throw new Error(`redis-server not answering on ${port} within ${START_TIMEOUT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const kill = async (): Promise<void> => {
    const p = proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGCONT'); // a stopped process must run to die of SIGKILL promptly
    p.kill('SIGKILL');
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return proc?.pid ?? 0;
    },
    pause: () => void proc?.kill('SIGSTOP'),
    resume: () => void proc?.kill('SIGCONT'),
    kill,
    restart: launch,
    stop: kill,
  };
}
