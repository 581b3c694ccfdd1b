// Replies of the admin listener (control path): plain text and JSON, never cached.

import type { ServerResponse } from 'node:http';

export function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** `value` may be a promise (a view the primary asks a worker for). */
export function sendJson(res: ServerResponse, value: unknown): void {
  Promise.resolve(value).then(
    (v) => {
      if (res.destroyed) return;
      const body = JSON.stringify(v, null, 2) + '\n';
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
      res.end(res.req.method === 'HEAD' ? undefined : body);
    },
    (err: unknown) => sendText(res, 500, `failed: ${String(err)}\n`),
  );
}
