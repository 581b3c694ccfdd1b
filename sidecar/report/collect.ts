// What `meshward report` reads from one sidecar's admin listener (CONTROL path, CLI): /config,
// /policies, /policies?rules=1 and /metrics, and /catalog and /alerts where the sidecar has them. Each GET
// is bounded in time and size; a missing or failing endpoint is recorded with why, never fatal.

export interface AdminSnapshot {
  /** The admin base URL as given (without a trailing "/"). */
  readonly admin: string;
  readonly config: Record<string, unknown> | undefined;
  /** GET /policies: snapshot version, sources, last reload error. */
  readonly policies: Record<string, unknown> | undefined;
  /** GET /policies?rules=1: every rule (policy/describe-rule.ts); undefined from a sidecar without it. */
  readonly rules: Record<string, unknown> | undefined;
  readonly metrics: string | undefined;
  readonly catalog: unknown;
  readonly alerts: unknown;
  /** Per endpoint that gave nothing usable: "GET /catalog: 404 …". */
  readonly unavailable: readonly string[];
  /** Set when the sidecar could not be reached at all. */
  readonly error: string | undefined;
}

const TIMEOUT_MS = 5_000;
const MAX_BYTES = 32 * 1024 * 1024;

type Got = { ok: true; text: string } | { ok: false; status: number | undefined; why: string };

/** `admin` is `http://host:port` (a bare `host:port` is accepted). */
export async function collectAdmin(admin: string, fetchFn: typeof fetch = fetch): Promise<AdminSnapshot> {
  const base = normalizeAdmin(admin);
  const get = async (path: string): Promise<Got> => {
    try {
      const res = await fetchFn(base + path, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json, text/plain' } });
      const text = await readBounded(res);
      if (!res.ok) return { ok: false, status: res.status, why: `${res.status} ${text.split('\n')[0]!.slice(0, 120)}`.trim() };
      return { ok: true, text };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return { ok: false, status: undefined, why: e.cause?.code ?? (e.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : e.message) };
    }
  };
  const [config, policies, rules, metrics, catalog, alerts] = await Promise.all([get('/config'), get('/policies'), get('/policies?rules=1'), get('/metrics'), get('/catalog'), get('/alerts')]);
  const unavailable: string[] = [];
  const json = (path: string, got: Got, absentMeans: string): unknown => {
    if (!got.ok) {
      unavailable.push(got.status === 404 ? `GET ${path}: 404 — ${absentMeans}` : `GET ${path}: ${got.why}`);
      return undefined;
    }
    try {
      return JSON.parse(got.text) as unknown;
    } catch {
      unavailable.push(`GET ${path}: not JSON`);
      return undefined;
    }
  };
  if (!config.ok && config.status === undefined) {
    return { admin: base, config: undefined, policies: undefined, rules: undefined, metrics: undefined, catalog: undefined, alerts: undefined, unavailable: [], error: `${base}: ${config.why}` };
  }
  const cfg = json('/config', config, 'not a meshward admin listener?');
  const pol = json('/policies', policies, 'not a meshward admin listener?');
  // An older sidecar ignores ?rules=1 and answers /policies again: no `grpc` list.
  const rulesView = asObject(json('/policies?rules=1', rules, 'not a meshward admin listener?'));
  const hasRules = Array.isArray(rulesView?.grpc);
  if (rules.ok && !hasRules) unavailable.push('GET /policies?rules=1: no rules in the answer (a meshward without the rules view): rules and coverage not assessed');
  if (!metrics.ok) unavailable.push(`GET /metrics: ${metrics.why}`);
  return {
    admin: base,
    config: asObject(cfg),
    policies: asObject(pol),
    rules: hasRules ? rulesView : undefined,
    metrics: metrics.ok ? metrics.text : undefined,
    catalog: json('/catalog', catalog, 'no API catalog on this sidecar (a meshward without /catalog, or catalog.protos not set)'),
    alerts: json('/alerts', alerts, 'no alerts endpoint on this sidecar (a meshward without /alerts)'),
    unavailable,
    error: undefined,
  };
}

export function normalizeAdmin(admin: string): string {
  const withScheme = /^https?:\/\//.test(admin) ? admin : `http://${admin}`;
  return withScheme.replace(/\/+$/, '');
}

async function readBounded(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BYTES) {
      await reader.cancel();
      throw new Error(`answer larger than ${MAX_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
