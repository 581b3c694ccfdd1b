// The JSON views of the admin listener (control path): /config (effective config, secrets
// redacted), /policies (version, sources, last reload error; `?rules=1`: every rule), /overview and /refusals (the
// dashboard's), and any extra view the assembly adds (the primary's /workers).

import type { AdminRoute } from '../admin-route.js';
import type { AdminState } from '../admin-state.js';
import { sendJson } from '../http-replies.js';

export function jsonRoute(view: () => unknown): AdminRoute {
  return { handle: (_req, res) => sendJson(res, view()) };
}

export function viewRoutes(state: AdminState): Array<[string, AdminRoute]> {
  const routes: Array<[string, AdminRoute]> = [
    ['/config', jsonRoute(() => state.config())],
    [
      '/policies',
      {
        handle: (_req, res, url) =>
          sendJson(res, url.searchParams.get('rules') === '1' && state.policyRules !== undefined ? state.policyRules() : state.policies()),
      },
    ],
  ];
  const { overview, refusals } = state;
  if (overview !== undefined) routes.push(['/overview', jsonRoute(() => overview.call(state))]);
  if (refusals !== undefined) routes.push(['/refusals', jsonRoute(() => refusals.call(state))]);
  for (const [path, view] of Object.entries(state.views ?? {})) routes.push([path, jsonRoute(view)]);
  return routes;
}
