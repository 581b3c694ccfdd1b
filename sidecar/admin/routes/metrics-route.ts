// GET /metrics: Prometheus text format 0.0.4 (DESIGN §6). Control path: rendered per scrape.

import type { AdminRoute } from '../admin-route.js';
import type { AdminState } from '../admin-state.js';
import { sendText } from '../http-replies.js';

export function metricsRoute(render: NonNullable<AdminState['metrics']>): AdminRoute {
  return {
    handle(_req, res) {
      render().then(
        (text) => sendText(res, 200, text, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
        (err: unknown) => sendText(res, 500, `metrics failed: ${String(err)}\n`),
      );
    },
  };
}
