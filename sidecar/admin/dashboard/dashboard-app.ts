// The dashboard in the browser (GET /assets/dashboard-app.js, a module compiled by tsc and
// served by the admin listener): plain DOM APIs, no framework. Reads /overview and /refusals,
// follows /tap with EventSource for the live per-method table and new refusals, and shows
// /catalog and /alerts when this sidecar has them. Every caller-supplied string (methods,
// principals, reasons) goes into textContent, never into HTML.

import type { TapEvent } from '../../tap/tap-event.js';
import type { AdminOverview } from '../overview.js';
import { shortPrincipal, TrafficWindow, type MethodRow } from './traffic-window.js';

const MAX_REFUSALS = 50;
const RENDER_MS = 1000;
const OVERVIEW_MS = 10_000;
const ALERTS_MS = 10_000;
const CATALOG_MS = 30_000;

const traffic = new TrafficWindow();
let overview: AdminOverview | undefined;
let refusals: TapEvent[] = [];
let dirty = true;

function byId(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`dashboard: #${id} missing`);
  return e;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className !== undefined) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function setText(id: string, text: string, className?: string): void {
  const e = byId(id);
  e.textContent = text;
  if (className !== undefined) e.className = className;
}

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  try {
    const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) return { status: res.status, body: undefined };
    return { status: res.status, body: await res.json() };
  } catch {
    return { status: 0, body: undefined };
  }
}

function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString(undefined, { hour12: false });
}

function inWords(ms: number): string {
  const abs = Math.abs(ms);
  const d = Math.floor(abs / 86_400_000);
  const h = Math.floor((abs % 86_400_000) / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${Math.max(m, abs >= 60_000 ? 1 : 0)} min`;
}

function fixed(n: number, digits: number): string {
  return n.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// --- this sidecar --------------------------------------------------------------------------

function renderOverview(o: AdminOverview): void {
  setText('service', o.service ?? '');
  setText('identity', o.identity.spiffeId);
  setText('inbound', `inbound ${o.inbound.listen}${o.workers > 1 ? ` · ${o.workers} workers` : ''}`);
  const now = Date.now();
  const notAfter = Date.parse(o.identity.notAfter);
  const notBefore = Date.parse(o.identity.notBefore);
  const left = notAfter - now;
  const share = left / Math.max(1, notAfter - notBefore);
  const state = left <= 0 || share < 0.1 ? 'state-bad' : share < 0.2 ? 'state-warn' : 'state-ok';
  setText('cert-expiry', left <= 0 ? `expired ${inWords(left)} ago` : `expires in ${inWords(left)}`, `big ${state}`);
  setText('cert-dates', `valid until ${new Date(notAfter).toLocaleString()}`);
  setText('mtls', o.inbound.mtls, `big ${o.inbound.mtls === 'strict' ? 'state-ok' : 'state-warn'}`);
  setText(
    'admin-access',
    o.inbound.mtls === 'strict' ? 'callers need a certificate of the mesh' : 'plaintext callers accepted as unauthenticated',
  );
  const admin = o.admin.mtlsRequired ? `admin: mTLS, ${o.admin.allow.length} allowed principal pattern(s)` : 'admin: loopback only';
  byId('admin-access').textContent += ` · ${admin}`;
  const p = o.policies;
  setText('policy-version', p.version.slice(0, 12));
  setText('policy-reload', `loaded ${clock(p.loadedAt)} · ${p.sources.length} file(s) · reloads ${p.reloads.ok} ok, ${p.reloads.error} failed`);
  const box = byId('policy-error');
  if (p.lastError === undefined || p.lastError === null) box.hidden = true;
  else {
    box.hidden = false;
    setText('policy-error-at', `at ${new Date(p.lastError.at).toLocaleString()}`);
    setText('policy-error-problems', p.lastError.problems.join('\n'));
  }
}

async function loadOverview(): Promise<void> {
  const { body } = await getJson('/overview');
  if (body === undefined) return;
  overview = body as AdminOverview;
  renderOverview(overview);
  dirty = true;
}

// --- live traffic ---------------------------------------------------------------------------

function numCell(n: number, kind: string): HTMLTableCellElement {
  return el('td', n === 0 ? 'num zero' : `num ${kind}`, n.toLocaleString());
}

function methodRow(r: MethodRow): HTMLTableRowElement {
  const tr = el('tr');
  tr.dataset.method = r.method;
  tr.append(
    el('td', 'method', r.method),
    el('td', 'num', fixed(r.callsPerSecond, r.callsPerSecond >= 10 ? 0 : 1)),
    numCell(r.allowed, 'allowed'),
    numCell(r.denied, 'denied'),
    numCell(r.limited, 'limited'),
    el('td', 'num', fixed(r.p50Ms, 2)),
    el('td', 'num', fixed(r.p99Ms, 2)),
  );
  const callers = el('td');
  for (const c of r.topCallers) {
    const chip = el('span', 'caller', `${shortPrincipal(c.principal)} ×${c.calls}`);
    chip.title = c.principal ?? 'unauthenticated';
    callers.append(chip);
  }
  tr.append(callers);
  return tr;
}

function renderMethods(): void {
  const now = Date.now();
  const rows = traffic.rows(now);
  byId('methods').querySelector('tbody')!.replaceChildren(...rows.map(methodRow));
  byId('methods-empty').hidden = rows.length > 0;
  const seconds = Math.round(traffic.spanMs(now) / 1000);
  setText('window', rows.length === 0 ? '' : `last ${seconds} s · ${traffic.total.toLocaleString()} calls seen`);
}

function traceCell(traceId: string | null): HTMLTableCellElement {
  const td = el('td', 'mono');
  if (traceId === null) {
    td.textContent = '—';
    return td;
  }
  const base = overview?.jaegerUrl;
  if (base === null || base === undefined) {
    td.textContent = traceId;
    return td;
  }
  const a = el('a', undefined, traceId);
  a.href = `${base.replace(/\/+$/, '')}/trace/${encodeURIComponent(traceId)}`;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  td.append(a);
  return td;
}

function refusalRow(e: TapEvent): HTMLTableRowElement {
  const tr = el('tr');
  tr.dataset.method = e.method;
  const reason = el('td');
  reason.append(el('span', e.limited ? 'tag tag-limit' : 'tag tag-deny', e.reason));
  if (e.rule !== null) reason.append(el('span', 'muted', ` ${e.rule}`));
  const principal = el('td', 'principal', shortPrincipal(e.principal));
  principal.title = e.principal ?? 'unauthenticated';
  tr.append(el('td', 'mono', clock(e.time)), el('td', 'method', e.method), principal, reason, el('td', 'num', e.status === null ? 'reset' : String(e.status)), traceCell(e.traceId));
  return tr;
}

function renderRefusals(): void {
  byId('refusals').querySelector('tbody')!.replaceChildren(...refusals.map(refusalRow));
  byId('refusals-empty').hidden = refusals.length > 0;
  setText('refusals-count', refusals.length === 0 ? '' : `newest ${refusals.length}`);
}

function keyOf(e: TapEvent): string {
  return `${e.time}|${e.method}|${e.principal}|${e.reason}|${e.traceId}|${e.durationMs}`;
}

/** Refusals from before the page subscribed (/refusals) merged with the live ones. */
async function loadRefusals(): Promise<void> {
  const { body } = await getJson('/refusals');
  if (!Array.isArray(body)) return;
  const seen = new Set(refusals.map(keyOf));
  const merged = [...refusals, ...(body as TapEvent[]).filter((e) => !seen.has(keyOf(e)))];
  merged.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
  refusals = merged.slice(0, MAX_REFUSALS);
  renderRefusals();
}

function connectTap(): void {
  const live = byId('live');
  const tap = new EventSource('/tap');
  tap.addEventListener('subscribed', () => {
    live.textContent = 'live';
    live.className = 'pill pill-live';
    void loadRefusals();
  });
  tap.addEventListener('message', (m: MessageEvent<string>) => {
    const e = JSON.parse(m.data) as TapEvent;
    traffic.add(e);
    dirty = true;
    if (e.decision === 'deny') {
      refusals.unshift(e);
      if (refusals.length > MAX_REFUSALS) refusals.length = MAX_REFUSALS;
      renderRefusals();
    }
  });
  tap.addEventListener('dropped', (m: MessageEvent<string>) => {
    const { dropped } = JSON.parse(m.data) as { dropped: number };
    const pill = byId('dropped');
    pill.hidden = false;
    pill.textContent = `${dropped.toLocaleString()} events dropped`;
    pill.title = 'This page fell behind the sidecar; the table undercounts.';
  });
  tap.addEventListener('error', () => {
    live.textContent = 'reconnecting';
    live.className = 'pill pill-wait';
  });
}

// --- catalog and alerts (other admin endpoints; absent on sidecars without them) -----------

function countOf(v: unknown): number | undefined {
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'number') return v;
  if (v !== null && typeof v === 'object') return Object.keys(v).length;
  return undefined;
}

function namesOf(v: unknown, max: number): string[] {
  const items = Array.isArray(v) ? v : v !== null && typeof v === 'object' ? Object.keys(v) : [];
  return items.slice(0, max).map((x: unknown) => {
    if (typeof x === 'string') return x;
    const o = x as Record<string, unknown>;
    return String(o.method ?? o.name ?? o.field ?? JSON.stringify(x));
  });
}

function unavailable(target: HTMLElement, status: number, what: string): void {
  const text = status === 404 ? `${what} not available on this sidecar.` : status === 0 ? `${what}: admin listener unreachable.` : `${what}: HTTP ${status}.`;
  target.replaceChildren(el('p', 'empty', text));
}

async function loadCatalog(): Promise<void> {
  const target = byId('catalog');
  const { status, body } = await getJson('/catalog');
  if (body === undefined || body === null || typeof body !== 'object') return unavailable(target, status, 'The API catalog is');
  const c = body as Record<string, unknown>;
  const dl = el('dl', 'kv');
  const rows: Array<[string, string, string | undefined]> = [
    ['declared', 'Declared', undefined],
    ['observed', 'Observed', undefined],
    ['shadow', 'Shadow (called, not declared)', 'tag-deny'],
    ['zombie', 'Zombie (declared, never called)', 'tag-warn'],
    ['deprecatedInUse', 'Deprecated in use', 'tag-warn'],
  ];
  for (const [key, label, tag] of rows) {
    const n = countOf(c[key]);
    if (n === undefined) continue;
    const dd = el('dd');
    dd.append(n > 0 && tag !== undefined ? el('span', `tag ${tag}`, String(n)) : document.createTextNode(String(n)));
    dl.append(el('dt', undefined, label), dd);
  }
  const list = el('ul', 'plain');
  for (const name of namesOf(c.shadow, 5)) list.append(el('li', 'mono', `shadow: ${name}`));
  for (const name of namesOf(c.deprecatedInUse, 5)) list.append(el('li', 'mono', `deprecated in use: ${name}`));
  target.replaceChildren(dl, ...(list.childElementCount > 0 ? [list] : []));
}

async function loadAlerts(): Promise<void> {
  const target = byId('alerts');
  const { status, body } = await getJson('/alerts');
  const list = Array.isArray(body) ? body : Array.isArray((body as { alerts?: unknown } | undefined)?.alerts) ? (body as { alerts: unknown[] }).alerts : undefined;
  if (list === undefined) return unavailable(target, status, 'Alerts are');
  if (list.length === 0) return target.replaceChildren(el('p', 'empty', 'No active alerts.'));
  const ul = el('ul', 'plain');
  for (const item of list.slice(0, 20)) {
    const a = item as { labels?: Record<string, string>; annotations?: Record<string, string>; startsAt?: string };
    const labels = a.labels ?? {};
    const li = el('li');
    const severity = labels.severity === 'critical' ? 'tag-deny' : 'tag-warn';
    li.append(el('span', `tag ${severity}`, labels.alertname ?? 'alert'), document.createTextNode(` ${a.annotations?.summary ?? ''}`));
    const where = [labels.method, labels.principal && shortPrincipal(labels.principal), a.startsAt && `since ${clock(a.startsAt)}`].filter(Boolean).join(' · ');
    if (where !== '') li.append(el('div', 'muted mono', where));
    ul.append(li);
  }
  target.replaceChildren(ul);
}

// --- start ----------------------------------------------------------------------------------

void loadOverview().then(() => renderRefusals());
connectTap();
void loadCatalog();
void loadAlerts();
renderMethods();
setInterval(() => {
  // Rates decay without new calls, so the table is redrawn every second while it has rows.
  if (dirty || traffic.total > 0) renderMethods();
  dirty = false;
}, RENDER_MS);
setInterval(() => void loadOverview(), OVERVIEW_MS);
setInterval(() => void loadAlerts(), ALERTS_MS);
setInterval(() => void loadCatalog(), CATALOG_MS);
