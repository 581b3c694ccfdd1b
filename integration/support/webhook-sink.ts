// An HTTP receiver for webhook tests: keeps every POSTed JSON body with its path and headers,
// answers 200 (or 503 / nothing, when told to). Test support only.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: any;
  readonly at: number;
}

export class WebhookSink {
  readonly received: Received[] = [];
  /** 'ok': 200; 'fail': 503; 'hang': never answer. */
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  #waiters = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(port = 0): Promise<WebhookSink> {
    let self: WebhookSink | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const sink = self!;
        if (sink.mode === 'hang') return;
        if (sink.mode === 'fail') return void res.writeHead(503).end('not now');
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = Buffer.concat(chunks).toString('utf8');
        }
        sink.received.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
        res.writeHead(200).end();
        for (const w of sink.#waiters) w();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    self = new WebhookSink(server, (server.address() as AddressInfo).port);
    return self;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves with the first received request (past or future) that matches; rejects after `timeoutMs`. */
  waitFor(match: (r: Received) => boolean, what: string, timeoutMs = 10_000): Promise<Received> {
    const found = this.received.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const r = this.received.find(match);
        if (r === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`webhook: no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.received.map((r) => r.body), null, 1).slice(0, 4000)}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
