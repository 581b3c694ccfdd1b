// GET / (the dashboard, DESIGN §12) and its assets under /assets/: the HTML and CSS are
// strings in this build, the scripts are the browser modules tsc compiled next to them
// (admin/dashboard/*.js), read once. Everything comes from this listener:
// `Content-Security-Policy: default-src 'self'`, no CDN, no external fonts. Control path.

import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { DASHBOARD_HTML, DASHBOARD_ICON_SVG } from '../dashboard/page.js';
import { DASHBOARD_CSS } from '../dashboard/style.js';
import type { AdminRoute } from '../admin-route.js';
import { sendText } from '../http-replies.js';

const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

/** The browser modules, as compiled by tsc beside this build's admin/dashboard/. */
const MODULES = ['dashboard-app.js', 'traffic-window.js'] as const;

function send(res: ServerResponse, type: string, body: string | Buffer): void {
  res.writeHead(200, { ...PAGE_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function staticRoute(type: string, body: string): AdminRoute {
  return { handle: (_req, res) => send(res, type, body) };
}

function moduleRoute(file: string): AdminRoute {
  let loaded: Promise<Buffer> | undefined;
  return {
    handle(_req, res) {
      loaded ??= readFile(new URL(`../dashboard/${file}`, import.meta.url));
      loaded.then(
        (body) => send(res, 'text/javascript; charset=utf-8', body),
        (err: NodeJS.ErrnoException) => {
          loaded = undefined;
          // Running from the TypeScript sources (tsx): the browser modules exist only in dist/.
          sendText(res, err.code === 'ENOENT' ? 404 : 500, `dashboard script ${file} not found (npm run build compiles it)\n`);
        },
      );
    },
  };
}

export function dashboardRoutes(): Array<[string, AdminRoute]> {
  return [
    ['/', staticRoute('text/html; charset=utf-8', DASHBOARD_HTML)],
    ['/assets/dashboard.css', staticRoute('text/css; charset=utf-8', DASHBOARD_CSS)],
    ['/assets/icon.svg', staticRoute('image/svg+xml', DASHBOARD_ICON_SVG)],
    ...MODULES.map((m): [string, AdminRoute] => [`/assets/${m}`, moduleRoute(m)]),
  ];
}
