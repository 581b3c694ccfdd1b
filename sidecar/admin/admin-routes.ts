// Every admin endpoint, in one table (control path). Each page or endpoint is its own module
// under routes/; adding one is a line here.

import type { AdminRoute, AdminRoutes } from './admin-route.js';
import type { AdminState } from './admin-state.js';
import { dashboardRoutes } from './routes/dashboard-routes.js';
import { viewRoutes } from './routes/json-views.js';
import { metricsRoute } from './routes/metrics-route.js';
import { probeRoutes } from './routes/probes.js';
import { tapRoute } from './routes/tap-route.js';

export function adminRoutes(state: AdminState): AdminRoutes {
  const routes: Array<[string, AdminRoute]> = [...probeRoutes(state), ...viewRoutes(state)];
  if (state.metrics !== undefined) routes.push(['/metrics', metricsRoute(() => state.metrics!())]);
  if (state.tap !== undefined) {
    routes.push(['/tap', tapRoute(state.tap)]);
    routes.push(...dashboardRoutes());
  }
  return new Map(routes);
}
