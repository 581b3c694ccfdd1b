// The dashboard's stylesheet (GET /assets/dashboard.css): light and dark from the system's
// preference, system fonts only (no external fonts). Control path.

export const DASHBOARD_CSS = `:root {
  --bg: #f6f7f9; --panel: #ffffff; --text: #1c2330; --muted: #5d6878; --line: #e2e6ec;
  --accent: #2f6fde; --ok: #1f8a4c; --warn: #b26a00; --bad: #c62f3b; --limit: #7a4fd6;
  --ok-bg: #e6f4ec; --warn-bg: #fff3dc; --bad-bg: #fde9eb; --limit-bg: #efe9fc; --row-hover: #f0f3f8;
  color-scheme: light;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f141b; --panel: #171e27; --text: #e4e9f0; --muted: #93a0b2; --line: #2a3441;
    --accent: #6ea0ff; --ok: #4cc47f; --warn: #f0b048; --bad: #ff6b77; --limit: #b597ff;
    --ok-bg: #15301f; --warn-bg: #3a2c10; --bad-bg: #3b161b; --limit-bg: #2a2140; --row-hover: #1e2733;
    color-scheme: dark;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.mono, code, pre, td.method, td.principal { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
a { color: var(--accent); }
.muted { color: var(--muted); }
.bar { display: flex; justify-content: space-between; align-items: center; padding: 10px 24px; background: var(--panel); border-bottom: 1px solid var(--line); }
.brand { display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 16px; }
.brand .muted { font-weight: 400; }
.status { display: flex; gap: 8px; }
.pill { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.pill-live { background: var(--ok-bg); color: var(--ok); }
.pill-live::before { content: "● "; }
.pill-wait { background: var(--warn-bg); color: var(--warn); }
.pill-warn { background: var(--warn-bg); color: var(--warn); }
main { padding: 20px 24px; max-width: 1440px; margin: 0 auto; display: flex; flex-direction: column; gap: 18px; }
h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 8px; font-weight: 650; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 14px; }
.card, .panel, .alert-box { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.card p { margin: 4px 0 0; overflow-wrap: anywhere; }
.big { font-size: 18px; font-weight: 650; }
.state-ok { color: var(--ok); }
.state-warn { color: var(--warn); }
.state-bad { color: var(--bad); }
.alert-box { border-color: var(--bad); background: var(--bad-bg); }
.alert-box h2 { color: var(--bad); }
.alert-box pre { white-space: pre-wrap; margin: 6px 0 0; }
.scroll { max-height: 380px; overflow: auto; }
.scroll thead th { position: sticky; top: 0; background: var(--panel); }
.panel-head { display: flex; justify-content: space-between; align-items: baseline; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
tbody tr:hover { background: var(--row-hover); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.method, td.principal { overflow-wrap: anywhere; }
td.zero { color: var(--muted); }
td.denied { color: var(--bad); font-weight: 600; }
td.limited { color: var(--limit); font-weight: 600; }
td.allowed { color: var(--ok); }
.caller { display: inline-block; margin: 0 6px 2px 0; padding: 0 6px; border-radius: 4px; background: var(--row-hover); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.tag { display: inline-block; padding: 0 7px; border-radius: 4px; font-size: 12px; font-weight: 600; }
.tag-deny { background: var(--bad-bg); color: var(--bad); }
.tag-limit { background: var(--limit-bg); color: var(--limit); }
.tag-warn { background: var(--warn-bg); color: var(--warn); }
.tag-ok { background: var(--ok-bg); color: var(--ok); }
.empty { color: var(--muted); margin: 10px 0 2px; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 18px; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; font-variant-numeric: tabular-nums; }
ul.plain { list-style: none; padding: 0; margin: 6px 0 0; }
ul.plain li { padding: 6px 0; border-bottom: 1px solid var(--line); }
footer { padding: 8px 24px 24px; max-width: 1440px; margin: 0 auto; font-size: 12px; }
footer a { margin-right: 8px; }
@media (max-width: 720px) { main, .bar { padding-left: 12px; padding-right: 12px; } }
`;
