// A GraphQL "app" that closes kept-alive connections at the worst moment: it answers the
// first request of every connection (keep-alive, no hint of its timeout) and, when a second
// request arrives on the same connection, closes it without an answer — what an app does
// when its keep-alive timeout runs out just as the request is on the wire. It records every
// request it received. Test support only.

import net, { type AddressInfo } from 'node:net';

export interface ClosingApp {
  readonly port: number;
  /** Request bodies received, in order (including the ones whose connection it closed). */
  readonly bodies: string[];
  /** Connections the client (the sidecar) closed itself, and how long after their last response. */
  readonly clientClosedAfterMs: number[];
  close(): Promise<void>;
}

const ANSWER = JSON.stringify({ data: { __typename: 'Query' } });

export async function startClosingApp(): Promise<ClosingApp> {
  const bodies: string[] = [];
  const clientClosedAfterMs: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let served = 0;
    let lastAnswer = 0;
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.slice(0, end);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        bodies.push(buffered.slice(end + 4, end + 4 + length));
        buffered = buffered.slice(end + 4 + length);
        if (served++ > 0) {
          socket.destroy(); // the keep-alive timeout "ran out" as this request arrived
          return;
        }
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${ANSWER.length}\r\nconnection: keep-alive\r\n\r\n${ANSWER}`);
        lastAnswer = performance.now();
      }
    });
    socket.on('end', () => {
      if (served === 1) clientClosedAfterMs.push(performance.now() - lastAnswer);
      socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    bodies,
    clientClosedAfterMs,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
