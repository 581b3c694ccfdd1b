// Reads catalog views for `meshward catalog` and `meshward policy suggest`: `GET /catalog`
// from sidecars' admin listeners (`--admin URL`, repeatable) and saved views (`--catalog FILE`,
// the JSON of `/catalog` or of `meshward catalog --format json`). CONTROL path (CLI).

import { readFileSync } from 'node:fs';
import type { CatalogView } from '../catalog/catalog-view.js';

const FETCH_TIMEOUT_MS = 10_000;
const MAX_BYTES = 256 * 1024 * 1024;

export interface CatalogInputs {
  readonly views: CatalogView[];
  /** One line per source that could not be read. */
  readonly problems: string[];
}

/** `http://host:port`, `host:port` or the full `/catalog` URL → the /catalog URL. */
export function catalogUrl(admin: string): string {
  const base = /^[a-z][a-z0-9+.-]*:\/\//i.test(admin) ? admin : `http://${admin}`;
  const url = new URL(base);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/catalog';
  return url.toString();
}

export async function readCatalogs(admins: readonly string[], files: readonly string[]): Promise<CatalogInputs> {
  const views: CatalogView[] = [];
  const problems: string[] = [];
  const fetched = await Promise.all(admins.map((a) => fetchView(a)));
  for (const r of fetched) {
    if (typeof r === 'string') problems.push(r);
    else views.push(r);
  }
  for (const file of files) {
    try {
      views.push(asView(JSON.parse(readFileSync(file, 'utf8')), file));
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
    }
  }
  return { views, problems };
}

async function fetchView(admin: string): Promise<CatalogView | string> {
  let url: string;
  try {
    url = catalogUrl(admin);
  } catch {
    return `${admin}: not a URL`;
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
    if (res.status === 404) return `${url}: 404 (a meshward sidecar's admin listener has /catalog since issue 16)`;
    if (!res.ok) return `${url}: HTTP ${res.status}`;
    const text = await res.text();
    if (text.length > MAX_BYTES) return `${url}: answer larger than ${MAX_BYTES} bytes`;
    const view = asView(JSON.parse(text), url);
    // Each sidecar's own sources say where they were read from.
    return { ...view, sources: view.sources.map((s) => ({ ...s, admin: url.replace(/\/catalog$/, '') })) };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return `${url}: ${cause ?? (err as Error).message}`;
  }
}

function asView(value: unknown, where: string): CatalogView {
  const v = value as Partial<CatalogView> | null;
  const lists = ['declared', 'observed', 'shadow', 'zombie', 'deprecatedInUse', 'sources'] as const;
  if (v === null || typeof v !== 'object' || v.kind !== 'meshward.catalog' || lists.some((k) => !Array.isArray(v[k]))) {
    throw new Error(`${where}: not a meshward catalog (expected the JSON of GET /catalog)`);
  }
  return v as CatalogView;
}
