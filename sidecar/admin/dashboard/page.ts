// The dashboard's HTML (GET /): a static shell; dashboard-app.ts fills it from /overview,
// /refusals, /tap (Server-Sent Events), /catalog and /alerts. No inline script or style, so
// it runs under `Content-Security-Policy: default-src 'self'` (DESIGN §12). Control path.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>meshward</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/dashboard.css">
<script type="module" src="/assets/dashboard-app.js"></script>
</head>
<body>
<header class="bar">
  <div class="brand"><img src="/assets/icon.svg" alt="" width="22" height="22"><span>meshward</span><span id="service" class="muted"></span></div>
  <div class="status"><span id="live" class="pill pill-wait">connecting</span><span id="dropped" class="pill pill-warn" hidden></span></div>
</header>
<main>
  <section class="cards" aria-label="this sidecar">
    <article class="card"><h2>Identity</h2><p id="identity" class="mono">…</p><p id="inbound" class="muted"></p></article>
    <article class="card"><h2>Certificate</h2><p id="cert-expiry" class="big">…</p><p id="cert-dates" class="muted"></p></article>
    <article class="card"><h2>mTLS</h2><p id="mtls" class="big">…</p><p id="admin-access" class="muted"></p></article>
    <article class="card"><h2>Policies</h2><p id="policy-version" class="big mono">…</p><p id="policy-reload" class="muted"></p></article>
  </section>
  <section id="policy-error" class="alert-box" hidden><h2>Last policy reload failed — the previous snapshot is still in force</h2><p id="policy-error-at" class="muted"></p><pre id="policy-error-problems"></pre></section>

  <section class="panel">
    <div class="panel-head"><h2>Methods</h2><span id="window" class="muted"></span></div>
    <table id="methods">
      <thead><tr><th>Method</th><th class="num">Calls/s</th><th class="num">Allowed</th><th class="num">Denied</th><th class="num">Limited</th><th class="num">p50 ms</th><th class="num">p99 ms</th><th>Top callers</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="methods-empty" class="empty">No calls since this page opened. The table shows the last minute of calls as they end.</p>
  </section>

  <section class="panel">
    <div class="panel-head"><h2>Recent refusals</h2><span id="refusals-count" class="muted"></span></div>
    <div class="scroll">
    <table id="refusals">
      <thead><tr><th>Time</th><th>Method</th><th>Caller</th><th>Reason</th><th class="num">Status</th><th>Trace</th></tr></thead>
      <tbody></tbody>
    </table>
    </div>
    <p id="refusals-empty" class="empty">No refused calls.</p>
  </section>

  <div class="columns">
    <section class="panel"><div class="panel-head"><h2>Active alerts</h2></div><div id="alerts"><p class="empty">…</p></div></section>
    <section class="panel"><div class="panel-head"><h2>API catalog</h2></div><div id="catalog"><p class="empty">…</p></div></section>
  </div>
</main>
<footer class="muted">Live from <code>/tap</code> (no replay) · JSON: <a href="/overview">/overview</a> <a href="/refusals">/refusals</a> <a href="/policies">/policies</a> <a href="/metrics">/metrics</a></footer>
</body>
</html>
`;

export const DASHBOARD_ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2f6fde"/><path d="M8 22V10l8 7 8-7v12" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>
`;
