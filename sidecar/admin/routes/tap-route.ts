// GET /tap?method=&principal=&decision= (DESIGN §12): calls as Server-Sent Events, from the
// moment of subscribing (no replay). One `data:` JSON line per call (tap/tap-event.ts), an
// `event: subscribed` first, `event: dropped` with the running total when this subscriber
// fell behind, a comment line as heartbeat. Control path: the tap hub buffers per subscriber
// (bounded); this writes what is buffered when the connection can take it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeTapFilter, parseTapFilter } from '../../tap/tap-filter.js';
import type { TapSubscription } from '../../tap/tap-hub.js';
import type { AdminRoute } from '../admin-route.js';
import type { TapSource } from '../admin-state.js';
import { sendText } from '../http-replies.js';

const HEARTBEAT_MS = 15_000;
/** Reconnection delay EventSource clients use (ms). */
const RETRY_MS = 2_000;

export function tapRoute(source: TapSource): AdminRoute {
  return {
    handle(req, res, url) {
      const parsed = parseTapFilter(url.searchParams);
      if (!parsed.ok) return sendText(res, 400, `tap: ${parsed.error}\n`);
      if (req.method === 'HEAD') return sendText(res, 200, '', { 'content-type': 'text/event-stream' });
      let stream: TapStream | undefined;
      const sub = source.subscribe(parsed.filter, () => stream?.flush());
      if (sub === undefined) return sendText(res, 503, `tap: ${source.maxSubscribers} subscribers already; try again later\n`, { 'retry-after': '5' });
      const opened = new TapStream(req, res, sub);
      stream = opened;
      const hello = JSON.stringify({ filter: describeTapFilter(parsed.filter), maxBuffered: sub.maxBuffered });
      // Subscribed in this process at once; a primary waits (bounded) until its workers relay too.
      void Promise.resolve(source.ready?.()).finally(() => opened.start(hello));
    },
  };
}

/** One subscriber's connection: writes batches while the socket keeps up, waits for 'drain' otherwise. */
class TapStream {
  #started = false;
  #waitingDrain = false;
  #reportedDropped = 0;
  readonly #heartbeat: NodeJS.Timeout;

  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly sub: TapSubscription,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    this.#heartbeat = setInterval(() => this.#write(': ping\n\n'), HEARTBEAT_MS);
    this.#heartbeat.unref();
    const end = (): void => {
      clearInterval(this.#heartbeat);
      sub.close();
    };
    req.once('close', end);
    res.once('close', end);
  }

  start(hello: string): void {
    if (this.res.destroyed) return;
    this.#started = true;
    this.#write(`retry: ${RETRY_MS}\nevent: subscribed\ndata: ${hello}\n\n`);
    this.flush();
  }

  flush(): void {
    if (!this.#started || this.#waitingDrain || this.res.destroyed) return;
    const events = this.sub.take();
    let text = '';
    for (let i = 0; i < events.length; i++) text += `data: ${JSON.stringify(events[i])}\n\n`;
    const dropped = this.sub.dropped;
    if (dropped !== this.#reportedDropped) {
      this.#reportedDropped = dropped;
      text += `event: dropped\ndata: {"dropped":${dropped}}\n\n`;
    }
    if (text !== '') this.#write(text);
  }

  #write(text: string): void {
    if (this.res.destroyed) return;
    if (this.res.write(text) || this.#waitingDrain) return;
    this.#waitingDrain = true;
    this.res.once('drain', () => {
      this.#waitingDrain = false;
      this.flush();
    });
  }
}
