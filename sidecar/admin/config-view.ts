// The effective config as GET /config shows it to people (control path, computed per
// request): durations written as in the file (`5m`, not 300000), secrets redacted, and only
// what applies — no Redis URL when the store is memory, no exporter details when tracing is
// off — plus the workload's own SPIFFE ID and certificate validity, and the versions running
// (the compliance report reads both: report/sidecar-facts.ts).

import * as z from 'zod';
import { isDurationSchema } from '../config/fields.js';
import { sidecarConfigSchema, type SidecarConfig } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import { packageInfo } from '../core/package-info.js';

export interface ConfigViewFacts {
  /** Secure defaults the config relaxes (app assembly logs them at startup too). */
  readonly relaxedDefaults: readonly string[];
  /** The tracing settings after the OTEL_* environment (telemetry's `effectiveTracing`). */
  readonly tracing: Readonly<Record<string, unknown>> & { readonly enabled: boolean };
  /** This workload's identity as loaded now (it changes on rotation). */
  readonly identity: { readonly spiffeId: string; readonly notBefore?: number | undefined; readonly notAfter: number | undefined };
  /** Now, in ms (tests pass a fixed clock). */
  readonly now?: number;
}

type JsonSchemaNode = {
  readonly type?: string;
  readonly pattern?: unknown;
  readonly properties?: Readonly<Record<string, JsonSchemaNode>>;
  readonly items?: JsonSchemaNode;
  readonly anyOf?: readonly JsonSchemaNode[];
};

let inputSchema: JsonSchemaNode | undefined;

export function configView(config: SidecarConfig, facts: ConfigViewFacts): unknown {
  inputSchema ??= z.toJSONSchema(sidecarConfigSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const view = withDurations(config, inputSchema) as Record<string, unknown>;
  const { rateLimit } = config;
  view['rateLimit'] = rateLimit.store === 'redis' ? { ...(view['rateLimit'] as object), redis: { ...(view['rateLimit'] as { redis: object }).redis, url: redactUrl(rateLimit.redis.url) } } : { store: rateLimit.store };
  const notAfter = facts.identity.notAfter;
  const now = facts.now ?? Date.now();
  view['identity'] = {
    ...(view['identity'] as object),
    spiffeId: facts.identity.spiffeId,
    certificate:
      notAfter === undefined || !Number.isFinite(notAfter)
        ? undefined
        : {
            ...(facts.identity.notBefore === undefined ? {} : { notBefore: new Date(facts.identity.notBefore).toISOString() }),
            notAfter: new Date(notAfter).toISOString(),
            expiresIn: notAfter > now ? formatDuration(Math.floor((notAfter - now) / 1000) * 1000) : 'expired',
          },
  };
  const { tracing } = facts;
  return {
    relaxedDefaults: facts.relaxedDefaults,
    config: view,
    tracing: tracing.enabled ? tracing : { enabled: false, why: tracing['why'] },
    version: { meshward: packageInfo().version, node: process.version },
  };
}

/** A copy of `value` with every number whose schema is a duration written back in units. */
function withDurations(value: unknown, schema: JsonSchemaNode | undefined): unknown {
  if (schema === undefined) return value;
  if (typeof value === 'number') {
    const kind = durationIn(schema);
    if (kind !== false) return formatDuration(value, { days: kind === 'days' });
  }
  if (Array.isArray(value)) return value.map((v) => withDurations(v, itemsOf(schema)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = withDurations(v, propertyOf(schema, k));
    return out;
  }
  return value;
}

function durationIn(s: JsonSchemaNode): boolean | 'days' {
  for (const node of [s, ...(s.anyOf ?? [])]) {
    const kind = isDurationSchema(node);
    if (kind !== false) return kind;
  }
  return false;
}

function propertyOf(s: JsonSchemaNode, key: string): JsonSchemaNode | undefined {
  return s.properties?.[key] ?? s.anyOf?.map((a) => a.properties?.[key]).find((p) => p !== undefined);
}

function itemsOf(s: JsonSchemaNode): JsonSchemaNode | undefined {
  return s.items ?? s.anyOf?.map((a) => a.items).find((i) => i !== undefined);
}

/** `redis://user:secret@host` → `redis://user:***@host`. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
