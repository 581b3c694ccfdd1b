// /healthz (the process is alive) and /readyz (listeners up, certificates and a policy snapshot
// loaded, not draining): open to anyone, also when the listener requires mTLS (DESIGN §12),
// because the kubelet probes them without a client certificate. Control path.

import type { AdminRoute } from '../admin-route.js';
import type { AdminState } from '../admin-state.js';
import { sendText } from '../http-replies.js';

export function probeRoutes(state: Pick<AdminState, 'notReadyReasons'>): Array<[string, AdminRoute]> {
  return [
    ['/healthz', { open: true, handle: (_req, res) => sendText(res, 200, 'ok\n') }],
    [
      '/readyz',
      {
        open: true,
        handle(_req, res) {
          const reasons = state.notReadyReasons();
          sendText(res, reasons.length === 0 ? 200 : 503, reasons.length === 0 ? 'ready\n' : `not ready: ${reasons.join(', ')}\n`);
        },
      },
    ],
  ];
}
