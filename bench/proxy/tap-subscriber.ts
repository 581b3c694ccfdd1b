// One /tap subscriber for the benchmark variant that measures what following a sidecar costs it
// (DESIGN §12): an HTTP client in the harness process that reads the event stream and discards
// it, counting events and the drops the sidecar reports.

import http from 'node:http';

export interface TapSubscriber {
  readonly events: number;
  readonly dropped: number;
  close(): void;
}

export async function subscribeTap(adminPort: number): Promise<TapSubscriber> {
  let events = 0;
  let dropped = 0;
  let tail = '';
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: adminPort, path: '/tap', agent: false }, resolve);
    req.once('error', reject);
  });
  if (res.statusCode !== 200) throw new Error(`/tap: HTTP ${res.statusCode}`);
  res.setEncoding('utf8');
  await new Promise<void>((resolve) => {
    res.on('data', (chunk: string) => {
      const text = tail + chunk;
      const cut = text.lastIndexOf('\n\n');
      if (cut === -1) return void (tail = text);
      const complete = text.slice(0, cut);
      tail = text.slice(cut + 2);
      if (complete.includes('event: subscribed')) resolve();
      events += (complete.match(/^data: \{"time"/gm) ?? []).length;
      const d = /event: dropped\ndata: \{"dropped":(\d+)\}(?![\s\S]*event: dropped)/.exec(complete);
      if (d !== null) dropped = Number(d[1]);
    });
  });
  return {
    get events() {
      return events;
    },
    get dropped() {
      return dropped;
    },
    close: () => res.destroy(),
  };
}
