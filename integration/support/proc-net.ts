// What a child process holds, read from /proc (Linux): open file descriptors and TCP sockets
// in a given state on a given local port. Test support only.

import { readFileSync, readdirSync } from 'node:fs';

/** Open file descriptors of `pid`. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** TCP states as /proc/net/tcp writes them (include/net/tcp_states.h). */
export const TcpState = { ESTABLISHED: 0x01, FIN_WAIT2: 0x05, CLOSE_WAIT: 0x08, LISTEN: 0x0a } as const;

/** Sockets with local port `port` in `state` (IPv4 and IPv6), as the kernel lists them. */
export function tcpSockets(port: number, state: number): number {
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      const localPort = parseInt(cols[1]!.slice(cols[1]!.lastIndexOf(':') + 1), 16);
      if (localPort === port && parseInt(cols[3]!, 16) === state) n++;
    }
  }
  return n;
}

/** Polls `cond` every 50 ms until it holds (true) or `timeoutMs` passes (false). */
export async function eventually(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
