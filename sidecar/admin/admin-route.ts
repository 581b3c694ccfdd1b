// The shape of an admin endpoint (control path): one module per page or endpoint under
// routes/, gathered by admin-routes.ts; admin-server.ts dispatches by path and checks access.

import type { IncomingMessage, ServerResponse } from 'node:http';

export interface AdminRoute {
  /** Served to anyone, also when the listener requires mTLS (DESIGN §12: the kubelet's probes). */
  readonly open?: boolean;
  /** Methods other than GET and HEAD get 405 before this runs. `url` is parsed (path and query). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void;
}

/** Path (exact, without query) → route. */
export type AdminRoutes = ReadonlyMap<string, AdminRoute>;
